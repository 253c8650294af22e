"""Achieved GFLOP/s of the model at the largest cell vs a plain float32 matmul, same run.

    .venv/bin/python benchmarks/bench_gflops.py [--quick] [--cell 32x128]

Model FLOPs are counted analytically for a BERT encoder (multiply-adds x 2): per layer
QKV + output projections 8*T*H^2, feed-forward 4*T*H*I, attention scores and values 4*B*L^2*H,
with T = B*L tokens (embeddings, softmax, layer norms and GELU left out, so the rate is a lower
bound). The reference is a float32 matmul with the shape of the feed-forward's first GEMM
(T x H) @ (H x I), in numpy (its BLAS threads) and torch (``--threads`` threads).
"""

from __future__ import annotations

import argparse
import json
import statistics

from bench_common import add_common_args, model_dirs, save, sst2_texts, timing


def model_flops(config: dict, batch: int, length: int) -> float:
    h = config.get("hidden_size") or config["dim"]
    inter = config.get("intermediate_size") or config.get("hidden_dim") or 4 * h
    layers = config.get("num_hidden_layers") or config["n_layers"]
    tokens = batch * length
    per_layer = 8 * tokens * h * h + 4 * tokens * h * inter + 4 * batch * length * length * h
    return float(layers * per_layer)


def matmul_rates(m: int, k: int, n: int, threads: int, policy) -> dict[str, float]:
    import numpy as np
    import torch

    from shapeprof.bench.runner import collect_samples

    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    flops = 2.0 * m * k * n
    out = {}
    for name, call in (("numpy", lambda: a @ b), ("torch", lambda: ta @ tb)):
        ms = statistics.median(collect_samples(call, policy))
        out[name] = flops / (ms / 1000.0) / 1e9
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--cell", default="32x128", help="BxL, the largest cell to measure")
    parser.add_argument("--variants", default="onnx,optimized")
    args = parser.parse_args()

    from shapeprof.bench import BenchOptions, run_benchmark
    from shapeprof.bench.runner import physical_cores

    b, n = (int(x) for x in args.cell.lower().split("x"))
    if args.quick:
        b, n = min(b, 4), min(n, 32)
    model_dir, torch_dir = model_dirs(args)
    threads = args.threads or physical_cores()
    options = BenchOptions(batch_sizes=[b], sequence_lengths=[n], variants=tuple(args.variants.split(",")),
                           torch_model=torch_dir, intra_op_threads=threads, **timing(args))
    results = run_benchmark(model_dir, options=options, data=sst2_texts())
    config = json.loads((model_dir / "config.json").read_text())
    flops = model_flops(config, b, n)
    h = config.get("hidden_size") or config["dim"]
    inter = config.get("intermediate_size") or config.get("hidden_dim") or 4 * h
    refs = matmul_rates(b * n, h, inter, threads, options.timing())
    print(f"cell {b}x{n}: {flops / 1e9:.3g} GFLOP per call (analytic, matmuls only); {threads} threads\n")
    print("| runtime | p50 ms | GFLOP/s | share of torch matmul |")
    print("|---|---:|---:|---:|")
    for row in results.to_dataframe().itertuples():
        rate = flops / (row.p50_ms / 1000.0) / 1e9
        print(f"| {row.variant} | {row.p50_ms:.3f} | {rate:.1f} | {rate / refs['torch']:.0%} |")
    for name, rate in refs.items():
        print(f"| {name} matmul ({b * n}x{h} @ {h}x{inter}) | - | {rate:.1f} | {rate / refs['torch']:.0%} |")
    save(results, args, "gflops.json")


if __name__ == "__main__":
    main()
