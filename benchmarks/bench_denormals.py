"""What flushing denormal floats to zero buys, in onnxruntime and PyTorch, by batch content.

    .venv/bin/python benchmarks/bench_denormals.py [--lengths 27,55,128] [--batch-size 32] [--calls 3] [--rounds 4]

For each padded length it builds three batches of SST-2 dev rows: the rows closest to that
length ("full": the least padding the data allows), rows around the median length ("median"),
and the shortest rows ("short"). Every round runs two fresh processes, one with denormals kept
and one with them flushed (onnxruntime's ``session.set_denormal_as_zero`` on every session,
``torch.set_flush_denormal`` for PyTorch), in alternating order; each times every batch in
onnxruntime (the exported graph and the optimizer's) and in PyTorch eager, a warm-up call then
``--calls`` calls. Speedups are paired by round (shapeprof.bench.paired).

Fresh processes, because the setting does not mix within one: onnxruntime applies a session's
flag to the thread that calls ``run`` only as the first session in the process left it, so an
A/B of two sessions in one process measures the first session's setting twice.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from bench_common import add_common_args, model_dirs, sst2_texts

RUNTIMES = ("onnx", "optimized", "pytorch")


def batches(tokenizer, texts: list[str], length: int, size: int) -> dict[str, dict[str, np.ndarray]]:
    lengths = np.array([len(ids) for ids in tokenizer(texts)["input_ids"]])
    order = np.argsort(np.abs(lengths - length), kind="stable")      # closest to the length first
    middle = np.argsort(np.abs(lengths - np.median(lengths)), kind="stable")
    picks = {"full": order[:size], "median": middle[:size], "short": np.argsort(lengths)[:size]}
    out = {}
    for name, rows in picks.items():
        enc = tokenizer([texts[i] for i in rows], padding="max_length", truncation=True,
                        max_length=length, return_tensors="np")
        out[name] = {k: v.astype(np.int64) for k, v in enc.items()}
    return out


def child(spec: dict) -> dict:
    """One process, one setting: median ms per (runtime, length, batch)."""
    import onnxruntime as ort
    import torch
    from transformers import AutoModel

    flush, threads = spec["flush"], spec["threads"]
    torch.set_num_threads(threads)
    torch.set_flush_denormal(flush)
    module = AutoModel.from_pretrained(spec["torch_dir"]).eval()
    sessions = {}
    for name, path in spec["onnx"].items():
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        if flush:
            options.add_session_config_entry("session.set_denormal_as_zero", "1")
        sessions[name] = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    data = np.load(spec["feeds"])
    out = {}
    for key in sorted({k.rsplit("/", 1)[0] for k in data.files}):
        feeds = {k.rsplit("/", 1)[1]: data[k] for k in data.files if k.startswith(key + "/")}
        for runtime in RUNTIMES:
            if runtime == "pytorch":
                tensors = {k: torch.from_numpy(v) for k, v in feeds.items()}

                def call() -> None:
                    with torch.inference_mode():
                        module(**tensors)
            else:
                session = sessions[runtime]
                names = {i.name for i in session.get_inputs()}
                feed = {k: v for k, v in feeds.items() if k in names}

                def call() -> None:
                    session.run(None, feed)
            call()
            times = []
            for _ in range(spec["calls"]):
                t0 = time.perf_counter()
                call()
                times.append((time.perf_counter() - t0) * 1000.0)
            out[f"{runtime}/{key}"] = float(np.median(times))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--lengths", default="27,55,128")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--calls", type=int, default=3, help="timed calls per batch, setting and round")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.set_defaults(rounds=4)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(Path(args.child).read_text()))))
        return

    from transformers import AutoTokenizer

    from shapeprof.bench.model_dir import open_model_dir
    from shapeprof.bench.paired import paired_speedup
    from shapeprof.bench.runner import physical_cores
    from shapeprof.bench.variants import build_variant

    model_dir, torch_dir = model_dirs(args)
    size = 4 if args.quick else args.batch_size
    lengths = [16] if args.quick else [int(x) for x in args.lengths.split(",")]
    rounds, calls = (1, 1) if args.quick else (args.rounds, args.calls)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    texts = sst2_texts()
    feeds = {f"{n}/{name}/{k}": v for n in lengths
             for name, f in batches(tokenizer, texts, n, size).items() for k, v in f.items()}
    work = args.work_dir / "denormals"
    work.mkdir(parents=True, exist_ok=True)
    np.savez(work / "feeds.npz", **feeds)
    optimized, _ = build_variant("optimized", open_model_dir(model_dir), work)
    spec = {"threads": args.threads or physical_cores(), "calls": calls, "torch_dir": str(torch_dir),
            "feeds": str(work / "feeds.npz"),
            "onnx": {"onnx": str(model_dir / "model.onnx"), "optimized": str(optimized)}}
    medians: dict[bool, list[dict]] = {False: [], True: []}
    for r in range(rounds):
        for flush in ((False, True) if r % 2 == 0 else (True, False)):
            path = work / f"spec-{int(flush)}.json"
            path.write_text(json.dumps({**spec, "flush": flush}))
            proc = subprocess.run([sys.executable, __file__, "--child", str(path)], capture_output=True,
                                  text=True, check=True, cwd=Path(__file__).parent)
            medians[flush].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"round {r + 1}/{rounds}, denormals {'flushed' if flush else 'kept'}: done",
                  file=sys.stderr, flush=True)
    print(f"\nbatch {size}, {spec['threads']} threads, {rounds} rounds; median ms per round's block, "
          "then the paired speedup of flushing (95% interval)\n")
    print("| length | rows | real tokens/row | runtime | kept ms | flushed ms | flushed speedup |")
    print("|---|---|---:|---|---:|---:|---|")
    for n in lengths:
        for name in ("full", "median", "short"):
            real = feeds[f"{n}/{name}/attention_mask"].sum(1).mean()
            for runtime in RUNTIMES:
                key = f"{runtime}/{n}/{name}"
                kept = np.array([m[key] for m in medians[False]])
                flushed = np.array([m[key] for m in medians[True]])
                s = paired_speedup(kept, flushed)
                interval = "" if np.isnan(s.low) else f" ({s.low:.2f}-{s.high:.2f})"
                print(f"| {n} | {name} | {real:.1f} | {runtime} | {np.median(kept):.1f} | "
                      f"{np.median(flushed):.1f} | {s.ratio:.2f}x{interval} |", flush=True)


if __name__ == "__main__":
    main()
