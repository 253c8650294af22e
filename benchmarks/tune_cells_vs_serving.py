"""Do the latency model's cells predict serving, when both are timed at the same moment?

tune prices a candidate's batches with cells (one shape timed repeatedly on real rows of that
length) and proves it by replaying real held-out rows (every batch a new shape, padded). This
pairs them as finely as possible: every batch of the replay plan is timed back to back with a
cell of the same shape, in an order alternating per pair, for several passes; the geometric mean
of batch / cell times with a 95% interval says whether the cells are biased against serving, free
of the machine's drift (which moves both alike).

    PYTHONPATH=. python benchmarks/tune_cells_vs_serving.py MODEL_DIR [--variant optimized-int8]
        [--baseline] [--passes 8]

MODEL_DIR is a feature-extraction export with its profile.json (benchmarks/tune_minilm.py caches
one in its --work-dir). Run under ``nice`` on a shared machine and report the load.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--variant", default="optimized-int8")
    parser.add_argument("--baseline", action="store_true", help="time the baseline candidate instead")
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--passes", type=int, default=8)
    args = parser.parse_args()
    from shapeprof.bench.model_dir import open_model_dir
    from shapeprof.bench.profile_view import profile_view
    from shapeprof.tune.batching import Batching
    from shapeprof.tune.candidates import Candidate, Layout
    from shapeprof.tune.context import TuneContext, load_rows
    from shapeprof.tune.options import TuneOptions
    from shapeprof.tune.search import baseline_candidate, open_sessions, serving
    from shapeprof.tune.variants import build_variants

    model = open_model_dir(args.model_dir)
    with tempfile.TemporaryDirectory() as work:
        ctx = TuneContext(model, profile_view(args.model_dir / "profile.json"), TuneOptions(), Path(work), 2)
        load_rows(ctx)
        variant = "onnx" if args.baseline else args.variant
        ctx.paths = build_variants(model, [variant], Path(work), None, print, ctx.tokenizer)
        cand = baseline_candidate() if args.baseline else \
            Candidate(variant, Batching("window", window=args.window), 32, Layout(1, 2))
        batches, feeds = serving(ctx, cand, ctx.held_out)
        cells = [ctx.cell_feeds((len(idx), pad)) for idx, pad in batches]
        [session] = open_sessions(ctx, cand)
        logs = paired_logs(session, feeds, cells, args.passes)
    half = 1.96 * logs.std(ddof=1) / np.sqrt(len(logs))
    print(f"{cand.label}: serving batch / same-shape cell = {np.exp(logs.mean()):.3f} "
          f"(95% {np.exp(logs.mean() - half):.3f}-{np.exp(logs.mean() + half):.3f}; {len(logs)} pairs of "
          f"{len(feeds)} batches x {args.passes} passes); load average {os.getloadavg()}")
    return 0


def paired_logs(session, feeds, cells, passes: int) -> np.ndarray:
    """log(batch time / cell time) of every pair, the order alternating per pair."""
    def timed(f) -> float:
        t0 = time.perf_counter()
        session.run(None, f)
        return time.perf_counter() - t0

    for f in feeds[:3]:
        session.run(None, f)
    out = []
    for p in range(passes):
        for i in range(len(feeds)):
            if (p + i) % 2:
                a = timed(feeds[i])
                b = timed(cells[i])
            else:
                b = timed(cells[i])
                a = timed(feeds[i])
            out.append(np.log(a / b))
    return np.array(out)


if __name__ == "__main__":
    sys.exit(main())
