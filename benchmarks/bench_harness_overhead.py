"""Harness overhead: shapeprof's sampling loop vs a bare ``session.run`` loop (goal < 2 %).

    .venv/bin/python benchmarks/bench_harness_overhead.py [--quick] [--cells 1x24,32x24]

Same session, same feeds, interleaved rounds (bare, harness, bare, harness, ...). The bare
loop times N calls with one clock around the loop; the harness is ``collect_samples`` (one clock
read pair per call, as in ``run_benchmark``). Overhead = harness mean / bare mean - 1, the median
over rounds.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench_common import add_common_args, model_dirs, sst2_texts


def bare_loop(session, feeds, n: int) -> float:
    """Mean ms per call of n back-to-back calls, one clock around the loop."""
    run = session.run
    t0 = time.perf_counter()
    for _ in range(n):
        run(None, feeds)
    return (time.perf_counter() - t0) * 1000.0 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--cells", default="1x24,32x24", help="BxL cells, comma-separated")
    parser.add_argument("--calls", type=int, default=200, help="calls per round (batch 1; fewer for larger)")
    args = parser.parse_args()

    from shapeprof.bench.inputs import FeedFactory, as_text_rows, load_model_tokenizer
    from shapeprof.bench.model_dir import open_model_dir
    from shapeprof.bench.runner import (SessionSettings, TimingPolicy, collect_samples, make_session,
                                        ort_call, physical_cores)
    from shapeprof.bench.sweep import Cell

    model_dir, _ = model_dirs(args)
    model = open_model_dir(model_dir)
    threads = args.threads or physical_cores()
    session = make_session(model.onnx_path, SessionSettings(intra_op_threads=threads))
    factory = FeedFactory(model, load_model_tokenizer(model), as_text_rows(sst2_texts()))
    rounds = 2 if args.quick else max(args.rounds, 7)   # --rounds from bench_common (at least 7 here)
    print(f"| cell | bare ms/call | harness ms/call | overhead (median of {rounds} rounds) |")
    print("|---|---:|---:|---:|")
    for text in args.cells.split(","):
        b, n = (int(x) for x in text.lower().split("x"))
        feeds = factory(Cell(b, n))
        calls = 5 if args.quick else max(10, args.calls // b)
        bare_loop(session, feeds, calls)                       # warm-up
        ratios, bares, harness = [], [], []
        for _ in range(rounds):
            bare = bare_loop(session, feeds, calls)
            samples = collect_samples(ort_call(session, feeds),
                                      TimingPolicy(warmup=0, min_samples=calls, min_time_s=0.0,
                                                   max_samples=calls))
            mean = statistics.fmean(samples)
            bares.append(bare)
            harness.append(mean)
            ratios.append(mean / bare - 1.0)
        print(f"| {b}x{n} | {statistics.median(bares):.4f} | {statistics.median(harness):.4f} | "
              f"{statistics.median(ratios):+.2%} |", flush=True)
    print(f"\n{threads} intra-op threads; goal: overhead < 2 %")


if __name__ == "__main__":
    main()
