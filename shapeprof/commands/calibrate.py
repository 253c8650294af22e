"""``shapeprof calibrate``: run one benchmark N times, report the A/A spread, suggest thresholds."""

from __future__ import annotations

import argparse
from typing import Any

from ._args import positive_int


def add_parser(sub: Any) -> None:
    p = sub.add_parser("calibrate", help="A/A runs of one benchmark on this machine -> thresholds.yaml")
    p.add_argument("model_dir", nargs="?", default=None, metavar="MODEL_DIR",
                   help="a directory written by 'shapeprof export' (or give --results)")
    p.add_argument("--results", nargs="+", default=None, metavar="RESULTS.json",
                   help="calibrate from these runs of one benchmark instead of running it")
    p.add_argument("--runs", type=positive_int, default=6, help="separate runs (default 6, at least 3)")
    p.add_argument("--rounds", type=positive_int, default=5, help="rounds per run (default 5, at least 3)")
    p.add_argument("--batch-sizes", "-b", default="1,8", help="comma-separated (default 1,8)")
    p.add_argument("--sequence-lengths", "-s", default="16,64", help="comma-separated (default 16,64)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="intra-op threads (default: physical cores, as 'shapeprof bench')")
    p.add_argument("--false-alarm-rate", type=float, default=0.05, metavar="RATE",
                   help="wanted share of unchanged builds crossing regression_ratio (default 0.05)")
    p.add_argument("--normalise", action=argparse.BooleanOptionalAction, default=None,
                   help="calibrate round values divided by the reference workload (default: as "
                        "compare does, when every run timed this shapeprof's reference)")
    p.add_argument("--output", "-o", default="configs/thresholds.yaml",
                   help="thresholds file to write (default configs/thresholds.yaml)")
    p.add_argument("--save-runs", default=None, metavar="DIR", help="also keep each run's results here")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..atomic import atomic_file, check_creatable, check_output_file
    from ..errors import CompareError
    from ..regression.calibrate import calibrate, load_runs, thresholds_yaml

    options = _check(args)
    check_output_file(args.output, CompareError, "--output")
    if args.save_runs:
        check_creatable(Path(args.save_runs), CompareError, f"--save-runs {args.save_runs!r}")
    if args.results:
        runs, source = load_runs(args.results), f"{len(args.results)} results files"
    else:
        runs, source = _measure(args, options), f"{args.model_dir}, {args.rounds} rounds per run"
    cal = calibrate(runs, args.false_alarm_rate, normalise=args.normalise)
    text = thresholds_yaml(cal, source)
    with atomic_file(Path(args.output), CompareError) as tmp:
        tmp.write_text(text, encoding="utf-8")
    print(text, end="")
    print(f"thresholds written to {args.output}")
    return 0


def _check(args: argparse.Namespace) -> Any:
    """Every value checked before any benchmark runs; the benchmark's options when measuring."""
    from ..bench.options import BenchOptions
    from ..errors import CompareError

    if not 0.0 < args.false_alarm_rate < 0.5:
        raise CompareError(f"--false-alarm-rate must lie strictly between 0 and 0.5, got "
                           f"{args.false_alarm_rate:g}; e.g. 0.05")
    if (args.model_dir is None) == (args.results is None):
        raise CompareError("give MODEL_DIR to run the benchmark, or --results with existing runs (not both)")
    if args.results is not None:
        if len(args.results) < 3:
            raise CompareError(f"--results needs at least 3 runs, got {len(args.results)}")
        return None
    if args.runs < 3 or args.rounds < 3:
        raise CompareError(f"calibration needs --runs >= 3 and --rounds >= 3, got {args.runs} and "
                           f"{args.rounds}: fewer cannot measure a spread")
    from ..bench.model_dir import open_model_dir
    from ..bench.sweep import parse_int_list

    open_model_dir(args.model_dir)
    return BenchOptions(batch_sizes=parse_int_list(args.batch_sizes, "--batch-sizes"),
                        sequence_lengths=parse_int_list(args.sequence_lengths, "--sequence-lengths"),
                        pytorch=False, rounds=args.rounds, intra_op_threads=args.threads,
                        progress=False)


def _measure(args: argparse.Namespace, options: Any) -> list[dict[str, Any]]:
    import sys
    from pathlib import Path

    from ..bench.benchmark import run_benchmark
    from . import quiet_libraries

    quiet_libraries()
    runs = []
    for i in range(args.runs):
        if not args.quiet:
            print(f"calibrate: run {i + 1}/{args.runs}", file=sys.stderr)
        results = run_benchmark(args.model_dir, None, options)
        if args.save_runs:
            Path(args.save_runs).mkdir(parents=True, exist_ok=True)
            results.save(Path(args.save_runs) / f"run-{i}.json")
        runs.append(results.to_dict())
    return runs
