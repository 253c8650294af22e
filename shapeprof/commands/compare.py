"""``shapeprof compare``: two benchmark results (or run sets) -> markdown report and a gating
exit status."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("compare", help="compare two 'shapeprof bench' results with sound statistics")
    side = ("a results file, a directory (every *.json in it) or files joined by commas "
            "(A.json,B.json): several separate runs make a run set, whose between-run noise shrinks "
            "with the runs")
    p.add_argument("base", metavar="BASE", help=f"the reference run(s): {side}")
    p.add_argument("candidate", metavar="CANDIDATE", help="the run(s) under test, as BASE")
    p.add_argument("--ignore", default="", metavar="KEYS",
                   help="comma-separated parts of the cell definition to leave out of the match: "
                        "model, variant, runtime, providers, threads, batch, length, versions")
    p.add_argument("--thresholds", default=None, metavar="YAML",
                   help="thresholds file (default: the packaged shapeprof/regression/thresholds.yaml)")
    p.add_argument("--timings-informational", action="store_true",
                   help="show timings but gate only on exact facts (for noisy shared machines)")
    p.add_argument("--metric", choices=("auto", "wall", "cpu"), default="auto",
                   help="time per call to compare: cpu (the calling thread's CPU time, recorded by "
                        "'bench --threads 1'), wall, or auto (cpu where both runs have it)")
    p.add_argument("--normalise", action=argparse.BooleanOptionalAction, default=None,
                   help="divide each round by the reference workload timed in the same round (default: "
                        "when every run timed this shapeprof's reference; 'shapeprof calibrate' shows "
                        "whether it helps on your machine)")
    p.add_argument("--output", "-o", default=None, help="also write the markdown report here")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0 pass or warning; 1 regression, changed exact fact or failed verification."""
    from pathlib import Path

    from ..atomic import atomic_file, check_output_file
    from ..errors import CompareError
    from ..regression import compare_files, load_thresholds, markdown_report

    if args.output:
        check_output_file(args.output, CompareError, "--output")
    ignore = [k.strip() for k in args.ignore.split(",") if k.strip()]
    comparison = compare_files(args.base, args.candidate, ignore, load_thresholds(args.thresholds),
                               timings_gate=not args.timings_informational, metric=args.metric,
                               normalise=args.normalise)
    report = markdown_report(comparison, args.base, args.candidate)
    if args.output:
        with atomic_file(Path(args.output), CompareError) as tmp:
            tmp.write_text(report, encoding="utf-8")
    print(report, end="")
    return 1 if comparison.gate_failed else 0
