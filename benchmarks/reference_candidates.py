"""Which reference workload cancels the drift between separate runs? Candidates side by side.

    PYTHONPATH=. python benchmarks/reference_candidates.py [--work-dir out/bench-work] [--runs 12]
        [--rounds 5] [-o reference_candidates.json]

Each run is its own process, as separate ``bench`` runs are: the exported all-MiniLM-L6-v2 at
the gate's grid (batch 1 and 8 x length 16 and 64, random ids, the bench's session settings:
threads = cores, denormals flushed), every cell timed for 0.1 s per round, and after each cell
every candidate reference in turn:

* ``gemm-3-calls``: the first design's reference graph (6 x (MatMul [32,1024] x [1024,1024] +
  Relu), seeded), 3 calls after each cell, as it was timed;
* ``gemm-50ms``: the same graph for 50 ms;
* ``encoder-50ms``: the current reference, ``shapeprof.bench.reference_encoder``'s fixed
  BERT-shaped graph (6 layers, hidden 384, seeded weights) at batch 8 x 32 for 50 ms, in its
  own session;
* ``model-8x32-50ms``: the model itself at batch 8 x 32 for 50 ms. This is the ideal reference (the
  same kernels as the cells) but not a usable one: a change to the model moves it too;
* ``other-8x32-50ms`` (with ``--other-model PATH``): another BERT-input ONNX graph in its own
  session, at batch 8 x 32 for 50 ms: whether a fixed graph of the same family tracks as well.

Per run, each cell's level is the median over rounds of its rounds' lower quartile, raw or
divided by the candidate's lower quartile in the same round. The figure is the sd of the log
levels across runs (the between-run spread a ``compare`` of separate runs faces), per cell.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from bench_common import REPO, model_dirs

sys.path.insert(0, str(REPO))

CELLS = ((1, 16), (1, 64), (8, 16), (8, 64))
GEMM_ROWS, GEMM_WIDTH, GEMM_LAYERS = 32, 1024, 6
CELL_TIME_S, SLICE_S = 0.1, 0.05


def gemm_model() -> bytes:
    """The first design's reference graph: a seeded chain of MatMul + Relu."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits, last = [], [], "x"
    for i in range(GEMM_LAYERS):
        w = (rng.standard_normal((GEMM_WIDTH, GEMM_WIDTH)) / np.sqrt(GEMM_WIDTH)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        nodes += [helper.make_node("MatMul", [last, f"w{i}"], [f"m{i}"]),
                  helper.make_node("Relu", [f"m{i}"], [f"r{i}"])]
        last = f"r{i}"
    shape = [GEMM_ROWS, GEMM_WIDTH]
    graph = helper.make_graph(nodes, "gemm-reference", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info(last, TensorProto.FLOAT, shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def ids(batch: int, length: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"input_ids": rng.integers(1000, 20000, (batch, length)).astype(np.int64),
            "attention_mask": np.ones((batch, length), np.int64),
            "token_type_ids": np.zeros((batch, length), np.int64)}


def one_run(model: Path, rounds: int, other: Path | None = None) -> dict[str, list[float]]:
    """Round lower quartiles of every cell and every candidate reference, in one process."""
    from shapeprof.bench.reference_encoder import encoder_input, encoder_model
    from shapeprof.bench.runner import SessionSettings, TimingPolicy, collect_samples, make_session, physical_cores

    settings = SessionSettings(intra_op_threads=physical_cores())
    session, gemm = make_session(model, settings), make_session(gemm_model(), settings)
    encoder, encoder_feeds = make_session(encoder_model(), settings), encoder_input()
    rng = np.random.default_rng(0)
    cells = {f"{b}x{n}": ids(b, n, rng) for b, n in CELLS}
    x = {"x": np.random.default_rng(1).standard_normal((GEMM_ROWS, GEMM_WIDTH)).astype(np.float32)}
    big = ids(8, 32, rng)
    calls3, slice50, cell = (TimingPolicy(1, 3, 0.0), TimingPolicy(1, 3, SLICE_S),
                             TimingPolicy(1, 4, CELL_TIME_S))
    refs = {"gemm-3-calls": (lambda: gemm.run(None, x), calls3),
            "gemm-50ms": (lambda: gemm.run(None, x), slice50),
            "encoder-50ms": (lambda: encoder.run(None, encoder_feeds), slice50),
            "model-8x32-50ms": (lambda: session.run(None, big), slice50)}
    if other is not None:
        second = make_session(other, settings)
        refs["other-8x32-50ms"] = (lambda: second.run(None, big), slice50)
    got: dict[str, list[float]] = {k: [] for k in [*cells, *refs]}
    for _ in range(rounds):
        slices: dict[str, list[float]] = {k: [] for k in refs}
        for name, feeds in cells.items():
            got[name].append(float(np.percentile(collect_samples(lambda: session.run(None, feeds), cell), 25)))
            for k, (call, policy) in refs.items():
                slices[k] += collect_samples(call, policy)
        for k in refs:
            got[k].append(float(np.percentile(slices[k], 25)))
    return got


def spreads(runs: list[dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    """Between-run sd of each cell's log level: raw and divided by each candidate."""
    cells = [f"{b}x{n}" for b, n in CELLS]
    refs = [k for k in runs[0] if k not in cells]
    out = {"raw": {c: float(np.std([np.log(np.median(r[c])) for r in runs], ddof=1)) for c in cells}}
    for ref in refs:
        out[ref] = {c: float(np.std([np.median(np.log(np.array(r[c]) / np.array(r[ref]))) for r in runs], ddof=1))
                    for c in cells}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-dir", type=Path, default=REPO / "out" / "bench-work")
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--output", "-o", type=Path, default=None)
    parser.add_argument("--other-model", type=Path, default=None,
                        help="another ONNX graph with BERT inputs, timed as a candidate reference")
    parser.add_argument("--one-run", type=Path, default=None, help=argparse.SUPPRESS)   # a child run
    parser.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runs < 3 or args.rounds < 1:
        print("error: --runs must be at least 3 and --rounds at least 1", file=sys.stderr)
        return 2
    if args.one_run:
        print(json.dumps(one_run(args.one_run, args.rounds, args.other_model)))
        return 0
    model = model_dirs(args)[0] / "model.onnx"
    runs = []
    for i in range(args.runs):
        other = ["--other-model", str(args.other_model)] if args.other_model else []
        child = subprocess.run([sys.executable, __file__, "--one-run", str(model), "--rounds", str(args.rounds),
                                *other], check=True, capture_output=True, text=True)
        runs.append(json.loads(child.stdout))
        print(f"run {i + 1}/{args.runs}", file=sys.stderr)
    got = {"runs": args.runs, "rounds": args.rounds, "between_run_sd": spreads(runs), "levels": runs}
    for name, per_cell in got["between_run_sd"].items():
        print(f"{name:18s} " + "  ".join(f"{c} {v:.3f}" for c, v in per_cell.items()))
    if args.output:
        args.output.write_text(json.dumps(got, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
