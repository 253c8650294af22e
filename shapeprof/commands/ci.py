"""``shapeprof ci``: bench the working tree against a base revision, print the comparison."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("ci", help="compare the working tree with a base revision (CI mode)")
    p.add_argument("spec", nargs="?", default="configs/ci.yaml", metavar="SPEC.yaml",
                   help="run spec (default: configs/ci.yaml)")
    p.add_argument("--base-rev", default="HEAD~1", help="base revision (default: HEAD~1, the parent)")
    p.add_argument("--work-dir", default="out/ci", help="where exports, results and report.md go")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default: the spec's)")
    p.add_argument("--gate-timings", action="store_true",
                   help="fail on timing regressions too (default: exact facts only)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..regression.ci import run_ci
    from ..runspec import load_spec
    from . import quiet_libraries

    quiet_libraries()
    result = run_ci(load_spec(args.spec), args.base_rev, args.work_dir, args.rounds, args.gate_timings)
    print(result.report, end="")
    return 1 if result.comparison.gate_failed else 0
