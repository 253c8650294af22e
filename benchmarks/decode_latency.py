"""Per-token decode latency per past length, and prefill latency per prompt length, in onnxruntime.

    .venv/bin/python benchmarks/decode_latency.py [--model ../shared/data/models/tiny-gpt2] [--threads 2]
        [--prompts 8,32,128] [--new-tokens 32] [-o out/bench/decode_latency.json]

A thin wrapper over the generation sweep of ``shapeprof bench`` (``run_benchmark`` on a decoder
exported with past): exports the model for text-generation-with-past (cached in
out/decode-latency), times prefill at each prompt length and one decode step at the past lengths
from each prompt to its last generated token, at batch 1 and 8, and prints the tables.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO.parent / "shared" / "data" / "models" / "tiny-gpt2"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompts", default="8,32,128", help="prompt lengths (comma-separated)")
    parser.add_argument("--batch-sizes", default="1,8")
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--output", "-o", type=Path, default=REPO / "out" / "bench" / "decode_latency.json")
    args = parser.parse_args()

    from shapeprof.bench import BenchOptions, parse_int_list, run_benchmark
    from shapeprof.commands import quiet_libraries
    from shapeprof.export import export

    quiet_libraries()
    out = REPO / "out" / "decode-latency" / Path(args.model).name
    if not (out / "model.onnx").is_file():
        export(args.model, out, task="text-generation-with-past", overwrite=True)
    results = run_benchmark(out, options=BenchOptions(
        batch_sizes=parse_int_list(args.batch_sizes), sequence_lengths=parse_int_list(args.prompts),
        new_tokens=args.new_tokens, intra_op_threads=args.threads, warmup=3, min_samples=20, min_time_s=0.3,
        progress=False))
    df = results.to_dataframe()
    print(f"{args.model}: onnxruntime {results.environment['versions']['onnxruntime']}, "
          f"{args.threads} threads\n")
    print("| phase | batch | prompt / past | new tokens | p50 ms | p90 ms | ms per token |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in df.sort_values(["phase", "batch_size", "past_length", "sequence_length"],
                            ascending=[False, True, True, True]).itertuples():
        length = r.past_length if r.phase == "decode" else r.sequence_length
        print(f"| {r.phase} | {r.batch_size} | {length} | {r.sequence_length} | {r.p50_ms:.3f} | "
              f"{r.p90_ms:.3f} | {r.p50_ms / r.tokens:.4f} |")
    from shapeprof.bench.report import generation_table

    print("\n" + generation_table(results))
    results.save(args.output)
    print(f"\nresults: {args.output}")


if __name__ == "__main__":
    main()
