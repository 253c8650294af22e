"""Per-token decode latency per past length, and prefill latency per prompt length, in onnxruntime.

    .venv/bin/python benchmarks/decode_latency.py [--model ../shared/data/models/tiny-gpt2] [--threads 2]

Exports the model for text-generation-with-past (cached in out/decode-latency), then times
one decode step (1 new token) at each past length and a prefill (empty cache) at each
prompt length, at batch 1 and 8, with shapeprof's timing loop. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def feeds(session, cfg, batch: int, new: int, past: int, rng) -> dict[str, np.ndarray]:
    from shapeprof.onnx.past import kv_shape, position_ids

    kv_heads, head_dim = kv_shape(cfg._normalized_config)
    mask = np.ones((batch, past + new), dtype=np.int64)
    out = {"input_ids": rng.integers(3, 1000, size=(batch, new), dtype=np.int64), "attention_mask": mask,
           "position_ids": position_ids(mask, new)}
    for i in session.get_inputs():
        if i.name.startswith("past_key_values."):
            out[i.name] = rng.standard_normal((batch, kv_heads, past, head_dim), dtype=np.float32)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO.parent / "shared" / "data" / "models" / "tiny-gpt2"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--past", default="0,16,64,256,512")
    parser.add_argument("--prompts", default="8,32,128")
    args = parser.parse_args()

    import onnxruntime as ort

    from shapeprof.bench.runner import TimingPolicy, collect_samples
    from shapeprof.commands import quiet_libraries
    from shapeprof.export import export
    from shapeprof.loading import load_model

    quiet_libraries()
    out = REPO / "out" / "decode-latency" / Path(args.model).name
    if not (out / "model.onnx").is_file():
        export(args.model, out, task="text-generation-with-past", overwrite=True)
    cfg = load_model(args.model, "text-generation-with-past").onnx_config
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(str(out / "model.onnx"), options, providers=["CPUExecutionProvider"])
    policy = TimingPolicy(warmup=3, min_samples=20, min_time_s=0.3)
    rng = np.random.default_rng(0)
    print(f"{args.model}: onnxruntime {ort.__version__}, {args.threads} threads; p50 ms (p90)\n")
    print("| step | batch | past | new tokens | p50 ms | p90 ms | ms per token |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = [("decode", b, int(p), 1) for b in (1, 8) for p in args.past.split(",")]
    rows += [("prefill", b, 0, int(n)) for b in (1, 8) for n in args.prompts.split(",")]
    for step, batch, past, new in rows:
        f = feeds(session, cfg, batch, new, past, rng)
        samples = np.array(collect_samples(lambda: session.run(None, f), policy))
        p50, p90 = np.percentile(samples, [50, 90])
        print(f"| {step} | {batch} | {past} | {new} | {p50:.3f} | {p90:.3f} | {p50 / (batch * new):.4f} |",
              flush=True)


if __name__ == "__main__":
    main()
