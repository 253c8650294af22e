"""onnxruntime vs PyTorch eager, and what the transformer optimizer and int8 each buy.

    .venv/bin/python benchmarks/bench_ort_vs_torch.py [--quick] [-o out/bench/ort_vs_torch.json]

all-MiniLM-L6-v2 on SST-2 dev rows at batch 1 and 32 at the median length (24 tokens): the
exported graph, onnxruntime's transformer optimizer, dynamic int8 and both, each checked against
PyTorch on the same real rows (max abs deviation) before it is timed.
"""

from __future__ import annotations

import argparse

from bench_common import add_common_args, median_length, model_dirs, save, sst2_texts, timing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--batch-sizes", default="1,32")
    args = parser.parse_args()

    from shapeprof.bench import BenchOptions, run_benchmark
    from shapeprof.bench.sweep import parse_int_list

    model_dir, torch_dir = model_dirs(args)
    texts = sst2_texts()
    length = median_length(model_dir, texts)
    print(f"median SST-2 dev length: {length} tokens")
    options = BenchOptions(batch_sizes=parse_int_list(args.batch_sizes), sequence_lengths=[length],
                           intra_op_threads=args.threads, variants=("onnx", "optimized", "int8", "optimized-int8"),
                           torch_model=torch_dir, **timing(args))
    results = run_benchmark(model_dir, options=options, data=texts)
    print(results.summary())
    df = results.to_dataframe()
    print("\n### p50 ms and speedups (same run)")
    cols = ["variant", "batch_size", "sequence_length", "p50_ms", "sequences_per_s",
            "speedup_vs_pytorch", "speedup_vs_onnx"]
    print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    save(results, args, "ort_vs_torch.json")


if __name__ == "__main__":
    main()
