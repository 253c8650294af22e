"""onnxruntime's float32 GEMM (MLAS) against PyTorch's (MKL) at the model's own GEMM shapes.

    .venv/bin/python benchmarks/bench_gemm_kernels.py [--cell 32x128] [--threads 1,2] [--rounds 30]

A BERT encoder's large cells spend most of their time in four GEMMs per layer:
(T x H) @ (H x H) for the attention projections, (T x H) @ (H x I) and (T x I) @ (I x H) for the
feed-forward, with T = batch x length tokens. Each shape is timed as a one-node onnxruntime graph
(``MatMul`` with the weight as an initializer, so onnxruntime pre-packs it, as in the exported
model) and as ``torch.nn.functional.linear`` (what PyTorch eager runs), back to back in every
round; the ratio is paired by round (shapeprof.bench.paired). Where onnxruntime's kernel is
slower here, no graph rewrite can make the GEMM-bound cells faster than PyTorch in float32.
"""

from __future__ import annotations

import argparse
import json
import statistics

import bench_common  # noqa: F401  (offline Hugging Face environment)
import numpy as np


def gemm_shapes(config: dict, tokens: int) -> dict[str, tuple[int, int, int]]:
    h, i = config["hidden_size"], config["intermediate_size"]
    return {"attention projection": (tokens, h, h), "feed-forward in": (tokens, h, i),
            "feed-forward out": (tokens, i, h)}


def ort_matmul(weight: np.ndarray, m: int, threads: int):
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    k, n = weight.shape
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "gemm",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])],
                              [numpy_helper.from_array(weight, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def block_median(call, samples: int) -> float:
    import time

    call()
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(m: int, k: int, n: int, threads: int, rounds: int, samples: int) -> dict:
    import torch

    from shapeprof.bench.paired import paired_speedup

    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((m, k), dtype=np.float32)
    w = rng.standard_normal((k, n), dtype=np.float32)
    session = ort_matmul(w, m, threads)
    tx, tw = torch.from_numpy(x), torch.from_numpy(np.ascontiguousarray(w.T))   # Linear's (out, in)
    calls = {"onnxruntime": lambda: session.run(None, {"x": x}),
             "pytorch": lambda: torch.nn.functional.linear(tx, tw)}
    medians: dict[str, list[float]] = {name: [] for name in calls}
    with torch.inference_mode():
        for r in range(rounds):
            for name in (list(calls) if r % 2 == 0 else list(calls)[::-1]):
                medians[name].append(block_median(calls[name], samples))
    flops = 2.0 * m * k * n
    s = paired_speedup(np.array(medians["pytorch"]), np.array(medians["onnxruntime"]))
    return {"shape": f"{m}x{k} @ {k}x{n}", "threads": threads,
            "ort_gflops": flops / statistics.median(medians["onnxruntime"]) / 1e9,
            "torch_gflops": flops / statistics.median(medians["pytorch"]) / 1e9,
            "ort_vs_torch": s.ratio, "low": s.low, "high": s.high}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="32x128", help="BxL: T = B*L tokens (default 32x128)")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--samples", type=int, default=5, help="timed calls per block")
    parser.add_argument("--quick", action="store_true", help="small shapes, 2 rounds: a smoke run")
    parser.add_argument("--output", "-o", default=None, help="JSON to write")
    args = parser.parse_args()

    from shapeprof.default_model import default_model_dir

    config = json.loads((default_model_dir() / "config.json").read_text())
    b, n = (int(v) for v in args.cell.lower().split("x"))
    tokens, rounds, samples = (64, 2, 2) if args.quick else (b * n, args.rounds, args.samples)
    rows = [{"gemm": name, **measure(*shape, threads, rounds, samples)}
            for threads in (int(t) for t in args.threads.split(","))
            for name, shape in gemm_shapes(config, tokens).items()]
    print(f"float32 GEMM at the {args.cell} cell's shapes; rate = median block; ratio paired by round "
          f"({rounds} rounds, 95% interval)\n")
    print("| GEMM | shape | threads | onnxruntime GFLOP/s | PyTorch GFLOP/s | onnxruntime / PyTorch speed |")
    print("|---|---|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['gemm']} | {r['shape']} | {r['threads']} | {r['ort_gflops']:.1f} | "
              f"{r['torch_gflops']:.1f} | {r['ort_vs_torch']:.2f} ({r['low']:.2f}-{r['high']:.2f}) |")
    if args.output:
        from pathlib import Path

        from shapeprof.atomic import write_json

        write_json(Path(args.output), {"cell": args.cell, "rows": rows})
        print(f"\nresults: {args.output}")


if __name__ == "__main__":
    main()
