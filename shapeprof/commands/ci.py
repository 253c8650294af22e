"""``shapeprof ci``: bench the working tree against a base revision, print the comparison."""

from __future__ import annotations

import argparse
from typing import Any

from ._args import positive_int


def add_parser(sub: Any) -> None:
    p = sub.add_parser("ci", help="compare the working tree with a base revision (CI mode)")
    p.add_argument("spec", nargs="?", default="configs/ci.yaml", metavar="SPEC.yaml",
                   help="run spec (default: configs/ci.yaml)")
    p.add_argument("--base-rev", default=None,
                   help="base revision, which must exist (default: HEAD~1, the parent; without one "
                        "the report is an A/A run and says so at the top)")
    p.add_argument("--work-dir", default="out/ci", help="where exports, results, report.md and report.html go")
    p.add_argument("--rounds", type=positive_int, default=None, help="interleaved rounds (default: the spec's)")
    p.add_argument("--timings-informational", action="store_true",
                   help="show timings but gate only on exact facts (default: timings gate in every "
                        "cell whose paired interval can resolve the threshold)")
    p.add_argument("--gate-timings", action="store_true",
                   help="accepted for old scripts: timings gate by default now")
    p.add_argument("--history", default=None, metavar="DB",
                   help="also add the results to this history database (see 'shapeprof history')")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output (stderr carries errors only)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..runspec import load_spec

    if args.gate_timings and args.timings_informational:
        raise ConfigError("--gate-timings and --timings-informational contradict each other; give one")
    spec = load_spec(args.spec)
    if args.history is None:
        return _run(args, spec, None)
    from ..regression.history import open_history

    with open_history(args.history) as history:     # checked now, written at the end: one open
        return _run(args, spec, history)


def _run(args: argparse.Namespace, spec: Any, history: Any) -> int:
    from ..default_model import default_model_dir
    from ..loading import check_weights, require_preprocessor_files
    from ..regression.ci import check_base_rev, run_ci
    from . import quiet_libraries

    if args.base_rev is not None:
        check_base_rev(args.base_rev)
    model = spec.model or default_model_dir()
    check_weights(model)
    require_preprocessor_files(model)
    quiet_libraries()
    result = run_ci(spec, args.base_rev, args.work_dir, args.rounds, not args.timings_informational,
                    progress=not args.quiet, history=history)
    print(result.report, end="")
    return 1 if result.comparison.gate_failed else 0
