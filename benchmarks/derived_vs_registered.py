"""A derived BERT against the registered one: same graph form, same fused ops, same latency.

    PYTHONPATH=. HF_HUB_OFFLINE=1 nice -n 19 python benchmarks/derived_vs_registered.py \\
        [--rounds 20] [--threads 2] [-o out/derived_vs_registered.json] [--quick]

all-MiniLM-L6-v2 (a BERT) is exported twice from the same directory: with its registered config
and with ``config="auto"`` (derived from the model). Both exports are timed (wall seconds, in
alternation: registered, derived, registered, derived), then compared:

- the op counts of the two graphs, and of each after onnxruntime's transformer optimizer (the
  fused ``Attention`` nodes, ``BiasGelu``, ...);
- the onnxruntime latency of the optimized graphs, paired and interleaved: in every round each
  model runs the same feeds in turn, so both see the same machine load; reported as medians and
  the median of per-round ratios (derived / registered) with its spread;
- the max abs difference of their outputs on the same feeds.

``--quick`` uses a tiny BERT (2 layers, hidden 32) and two rounds: a smoke test, not a measurement.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import onnx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from export_vs_optimum import make_feeds, session  # noqa: E402  (a sibling script)

CELLS = [(1, 24), (1, 128), (8, 24), (8, 128), (32, 24)]
HOWS = ("registered", "auto")


def model_dir(quick: bool, work: Path) -> Path:
    from shapeprof.default_model import default_model_dir

    if not quick:
        return Path(default_model_dir())
    from transformers import AutoTokenizer

    from shapeprof.testing.tiny import tiny_model

    out = work / "tiny-bert"
    tiny_model("bert", "feature-extraction", vocab_size=30522).save_pretrained(out)
    AutoTokenizer.from_pretrained(str(default_model_dir())).save_pretrained(out)
    return out


def export_both(source: Path, work: Path, repeats: int) -> dict[str, Any]:
    """Export registered and derived in alternation; wall seconds of each."""
    from shapeprof.export import export

    seconds: dict[str, list[float]] = {how: [] for how in HOWS}
    for i in range(repeats):
        for how in HOWS:
            start = time.perf_counter()
            result = export(str(source), work / f"{how}-{i}", task="feature-extraction", config=how)
            seconds[how].append(time.perf_counter() - start)
            assert result.verification.passed and result.config == ("derived" if how == "auto" else "registered")
    return {"export_seconds": seconds, "dirs": {how: work / f"{how}-0" for how in HOWS}}


def ops(path: Path) -> Counter[str]:
    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def optimized(out: Path, target: Path) -> tuple[Path, dict[str, int]]:
    from shapeprof.bench.model_dir import open_model_dir
    from shapeprof.bench.variants import optimize

    return optimize(open_model_dir(out), target)


def paired_latency(paths: dict[str, Path], threads: int, rounds: int) -> list[dict[str, Any]]:
    """Per cell: medians, and the median per-round ratio derived / registered (interleaved)."""
    sessions = {how: session(p, threads) for how, p in paths.items()}
    cells = []
    for batch, seq in CELLS:
        feeds = make_feeds(batch, seq, seed=batch * seq)
        outs = {how: s.run(None, feeds)[0] for how, s in sessions.items()}
        per_round = max(1, int(2000 / (batch * seq)))
        samples: dict[str, list[float]] = {how: [] for how in sessions}
        ratios = []
        for r in range(rounds):
            order = HOWS if r % 2 == 0 else HOWS[::-1]   # alternate who goes first
            medians = {}
            for how in order:
                times = []
                for _ in range(per_round):
                    start = time.perf_counter()
                    sessions[how].run(None, feeds)
                    times.append((time.perf_counter() - start) * 1e3)
                samples[how] += times
                medians[how] = statistics.median(times)
            ratios.append(medians["auto"] / medians["registered"])
        cells.append({"batch": batch, "sequence": seq,
                      "median_ms": {h: statistics.median(v) for h, v in samples.items()},
                      "ratio_median": statistics.median(ratios),
                      "ratio_range": [min(ratios), max(ratios)],
                      "max_abs_diff": float(np.abs(outs["auto"] - outs["registered"]).max()),
                      "samples_ms": samples})
    return cells


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--export-repeats", type=int, default=2, help="exports of each, alternating")
    parser.add_argument("--quick", action="store_true", help="a tiny BERT and 2 rounds (smoke test)")
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    rounds, repeats = (2, 1) if args.quick else (args.rounds, args.export_repeats)
    with tempfile.TemporaryDirectory(prefix="derived-vs-registered-") as tmp:
        work = Path(tmp)
        exports = export_both(model_dir(args.quick, work), work, repeats)
        dirs = exports["dirs"]
        graph_ops = {how: ops(d / "model.onnx") for how, d in dirs.items()}
        opt = {how: optimized(d, work / f"{how}-opt.onnx") for how, d in dirs.items()}
        cells = paired_latency({how: path for how, (path, _) in opt.items()}, args.threads, rounds)
    fused = {how: counts for how, (_, counts) in opt.items()}
    result = {"threads": args.threads, "rounds": rounds, "quick": args.quick,
              "export_seconds": exports["export_seconds"], "same_graph_ops": graph_ops["auto"] == graph_ops["registered"],
              "graph_ops": {h: dict(c) for h, c in graph_ops.items()}, "fused_ops": fused,
              "same_fused_ops": fused["auto"] == fused["registered"], "cells": cells}
    print_summary(result)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=1))
    return 0 if result["same_graph_ops"] and result["same_fused_ops"] else 1


def print_summary(result: dict[str, Any]) -> None:
    secs = result["export_seconds"]
    print("export seconds: " + ", ".join(f"{h} {' / '.join(f'{s:.1f}' for s in v)}" for h, v in secs.items()))
    print(f"same graph ops: {result['same_graph_ops']}; same fused ops: {result['same_fused_ops']} "
          f"{result['fused_ops']['auto']}")
    print("| batch x seq | registered ms | derived ms | derived / registered (median of rounds, range) | max abs diff |")
    print("|---|---:|---:|---:|---:|")
    for c in result["cells"]:
        m = c["median_ms"]
        lo, hi = c["ratio_range"]
        print(f"| {c['batch']} x {c['sequence']} | {m['registered']:.2f} | {m['auto']:.2f} | "
              f"{c['ratio_median']:.3f} ({lo:.2f}-{hi:.2f}) | {c['max_abs_diff']:.1e} |")


if __name__ == "__main__":
    sys.exit(main())
