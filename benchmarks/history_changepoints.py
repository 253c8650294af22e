"""What the history's change point detector finds: on synthetic series, and on real separate runs.

    nice -n 19 .venv/bin/python benchmarks/history_changepoints.py [--runs 12] [--quick]

Part 1, synthetic: series of N commits with heavy-tailed noise (Student t, 3 degrees of freedom,
scaled to a robust sigma), flat or with one step mid-series. Per setting: how often any change
point is reported (the false-alarm rate when there is no step), and how often the step is found
at its commit (or one commit off).

Part 2, real noise: MiniLM (``--quick``: a tiny BERT) benchmarked ``--runs`` separate times on
the issue's grid (batch 1 and 8 x length 16 and 64, onnx, one thread), one run per "commit",
each recorded with ``shapeprof history add``. The A/A history should show no change point. Then
the same runs with every sample from commit N/2 on multiplied by ``--step`` (a synthetic step on
real run-to-run noise; not a code change): the report should find it at that commit. Prints
each cell's run-to-run noise and the smallest step the method could find in that many commits.
The machine is shared with other jobs: the noise figures describe it as it was during the run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from bench_common import add_common_args, model_dirs, sst2_texts, timing

from shapeprof.regression.changepoints import Method, detect


def synthetic(seed: int = 0, trials: int = 200) -> None:
    rng = np.random.default_rng(seed)
    method = Method()
    print("| commits | noise (t3 scale) | step | any change reported | found at its commit | within 1 |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n in (20, 40):
        for sigma in (0.03, 0.08):
            for step in (1.0, 1.05, 1.10, 1.20):
                any_change = exact = near = 0
                for _ in range(trials):
                    noise = rng.standard_t(3, n) * sigma                # heavy tails, like separate runs
                    values = 10 * np.exp(noise)
                    at = n // 2 + int(rng.integers(-n // 5, n // 5 + 1))
                    values[at:] *= step
                    found = [c.index for c in detect(values, method).changes]
                    any_change += bool(found)
                    exact += at in found
                    near += any(abs(i - at) <= 1 for i in found)
                print(f"| {n} | {sigma:.0%} | {step:.2f} | {any_change / trials:.1%} | "
                      f"{'-' if step == 1 else f'{exact / trials:.1%}'} | "
                      f"{'-' if step == 1 else f'{near / trials:.1%}'} |", flush=True)


def real_runs(args: argparse.Namespace, work: Path) -> list[Path]:
    from shapeprof.bench import BenchOptions, run_benchmark

    model_dir, _ = model_dirs(args)
    texts = sst2_texts()
    options = BenchOptions(batch_sizes=(1, 8), sequence_lengths=(16, 64), intra_op_threads=1,
                           variants=("onnx",), pytorch=False, progress=False, **timing(args))
    paths = []
    for i in range(args.runs):
        results = run_benchmark(model_dir, options=options, data=texts)
        paths.append(results.save(work / f"run{i:02d}.json"))
        print(f"run {i + 1}/{args.runs} done", file=sys.stderr, flush=True)
    return paths


def history(paths: list[Path], db: Path, step: float, start: int) -> None:
    from shapeprof.regression.history import add_results

    for i, path in enumerate(paths):
        if i >= start and step != 1.0:
            d = json.loads(path.read_text())
            for c in d["cells"]:
                c["samples_ms"] = [s * step for s in c["samples_ms"]]
            path = path.with_name(f"{path.stem}-x{step:g}.json")
            path.write_text(json.dumps(d))
        add_results(db, path, f"{i:02d}" + "0" * 38)


def report(db: Path, label: str, start: int) -> None:
    from shapeprof.regression.history_report import find_changes

    found = find_changes(db)
    print(f"\n### {label}\n\n| cell | run-to-run noise | smallest findable step | change points (commit: ratio) |")
    print("|---|---:|---:|---|")
    for f in found.findings:
        d = f.detection
        changes = ", ".join(f"{c.index}{' (the step)' if c.index == start else ''}: {c.ratio:.3f}x"
                            for c in d.changes) or "none"
        step = f"{d.smallest_step:.3f}x" if d.smallest_step else "none"
        print(f"| {f.series.key[4]} | {100 * d.sigma:.1f}% | {step} | {changes} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--runs", type=int, default=12, help="separate benchmark runs (one per commit)")
    parser.add_argument("--step", type=float, default=1.10, help="the synthetic step's ratio")
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args()
    print(f"detector: {Method().describe()}\n")
    if not args.skip_synthetic:
        synthetic()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        paths = real_runs(args, work)
        start = args.runs // 2
        history(paths, work / "aa.sqlite", 1.0, start)
        report(work / "aa.sqlite", f"{args.runs} separate runs, no change (A/A)", -1)
        history(paths, work / "step.sqlite", args.step, start)
        report(work / "step.sqlite", f"the same runs, samples x{args.step:g} from commit {start} on", start)


if __name__ == "__main__":
    main()
