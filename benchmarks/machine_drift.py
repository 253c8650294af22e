"""How steady is this machine? One fixed cell timed back to back, summarised per time window.

    .venv/bin/python benchmarks/machine_drift.py [--cell 32x24] [--seconds 120] [--window 10]

Prints the median and p10 latency of each window, and the spread of the window medians. On a
shared VM the medians move between speed regimes that last tens of seconds; any two
measurements taken at different times (a sweep and a replay, two CI runs) differ by this much
before the code changes anything, which is why ``run_benchmark`` interleaves what it compares.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from bench_common import add_common_args, model_dirs, sst2_texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--cell", default="32x24", help="BxL")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--window", type=float, default=10.0)
    args = parser.parse_args()

    from shapeprof.bench.inputs import FeedFactory, as_text_rows, load_model_tokenizer
    from shapeprof.bench.model_dir import open_model_dir
    from shapeprof.bench.runner import SessionSettings, make_session, physical_cores
    from shapeprof.bench.sweep import Cell

    model_dir, _ = model_dirs(args)
    model = open_model_dir(model_dir)
    threads = args.threads or physical_cores()
    session = make_session(model.onnx_path, SessionSettings(intra_op_threads=threads))
    b, n = (int(x) for x in args.cell.lower().split("x"))
    feeds = FeedFactory(model, load_model_tokenizer(model), as_text_rows(sst2_texts()))(Cell(b, n))
    for _ in range(3):
        session.run(None, feeds)
    print("| window end s | calls | median ms | p10 ms |\n|---:|---:|---:|---:|")
    medians, start = [], time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        window, times = time.perf_counter(), []
        while time.perf_counter() - window < args.window:
            t0 = time.perf_counter()
            session.run(None, feeds)
            times.append((time.perf_counter() - t0) * 1000.0)
        medians.append(float(np.median(times)))
        print(f"| {time.perf_counter() - start:.0f} | {len(times)} | {medians[-1]:.1f} | "
              f"{np.percentile(times, 10):.1f} |", flush=True)
    lo, hi = min(medians), max(medians)
    print(f"\n{b}x{n}, {threads} threads: window medians {lo:.1f}..{hi:.1f} ms "
          f"(max/min {hi / lo:.2f}x), median of windows {np.median(medians):.1f} ms")


if __name__ == "__main__":
    main()
