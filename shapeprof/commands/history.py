"""``shapeprof history``: a database of every run (add, show) and where each series changed (report)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..layout import HISTORY_DB
from ..regression.changepoint_method import Method
from ._args import fraction, open_fraction, positive_int

DEFAULT = Method()      # the detector's defaults, in one place


def add_parser(sub: Any) -> None:
    p = sub.add_parser("history", help="keep every bench and CI result in a database; find where "
                                       "timings changed over commits")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_add(actions)
    _add_show(actions)
    _add_report(actions)


def _db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=HISTORY_DB, metavar="PATH",
                   help=f"the history database (SQLite; default: {HISTORY_DB})")


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, help="only this model (as show lists it: MODEL_TYPE/TASK)")
    p.add_argument("--machine", default=None, help="only this machine fingerprint")
    p.add_argument("--variant", default=None, help="only this variant (onnx, optimized, int8, pytorch, ...)")
    p.add_argument("--cell", action="append", default=[], metavar="CELL",
                   help="only this cell, e.g. 8x64 or 'decode 1x1 past 16' (repeatable)")


def _add_add(actions: Any) -> None:
    p = actions.add_parser("add", help="record a results file (bench.json, or CI's candidate.json/base.json)")
    p.add_argument("results", metavar="RESULTS.json", help="results written by 'shapeprof bench' or 'shapeprof ci'")
    _db(p)
    p.add_argument("--commit", default=None, metavar="SHA",
                   help="the commit measured (default: HEAD of the git checkout in the current directory)")
    p.add_argument("--machine", default=None, metavar="NAME",
                   help="name the machine (default: a fingerprint of the CPU and core counts the results record)")
    p.add_argument("--model", default=None, metavar="NAME",
                   help="name the model (default: MODEL_TYPE/TASK from the results)")
    p.set_defaults(run=run_add)


def _add_show(actions: Any) -> None:
    p = actions.add_parser("show", help="list the recorded runs, one line per run and cell")
    _db(p)
    _filters(p)
    p.add_argument("--json", action="store_true", help="print JSON (with each round's median) instead of a table")
    p.set_defaults(run=run_show)


def _add_report(actions: Any) -> None:
    p = actions.add_parser("report", help="find change points per cell over commits; write history.html and history.md")
    _db(p)
    p.add_argument("--output", "-o", required=True, metavar="DIR", help="directory for history.html and history.md")
    _filters(p)
    p.add_argument("--alpha", type=open_fraction, default=DEFAULT.alpha,
                   help=f"significance of each split (default {DEFAULT.alpha:g})")
    p.add_argument("--min-segment", type=positive_int, default=DEFAULT.min_segment,
                   help=f"commits on each side of a change, at least (default {DEFAULT.min_segment})")
    p.add_argument("--min-change", type=fraction, default=DEFAULT.min_change,
                   help=f"drop steps smaller than this fraction (default {DEFAULT.min_change:g}, i.e. "
                        f"{100 * DEFAULT.min_change:g}%%)")
    p.add_argument("--permutations", type=positive_int, default=DEFAULT.permutations,
                   help=f"permutations behind each p-value (default {DEFAULT.permutations}, at least 99)")
    p.set_defaults(run=run_report)


def _filter_values(args: argparse.Namespace) -> Any:
    from ..regression.history_query import Filters

    return Filters(args.model, args.machine, args.variant, tuple(args.cell))


def run_add(args: argparse.Namespace) -> int:
    from ..regression.history import add_results, check_name

    for flag, value in (("--machine", args.machine), ("--model", args.model)):
        if value is not None:
            check_name(value, flag)
    added = add_results(args.db, args.results, args.commit, args.machine, args.model)
    if added.run.commit.dirty:
        print(f"note: the checkout has uncommitted changes; recorded at HEAD {added.run.commit.sha[:12]}")
    print(added.message(args.db))
    return 0


def run_show(args: argparse.Namespace) -> int:
    from ..regression.history_query import rows_and_summary

    rows, counts = rows_and_summary(args.db, _filter_values(args))
    if args.json:
        print(json.dumps({"db": args.db, "rows": [r.to_dict() for r in rows]}, indent=1))
        return 0
    print(f"{args.db}: {counts['runs']} runs of {counts['models']} models at {counts['commits']} commits "
          f"on {counts['machines']} machines; {len(rows)} rows match")
    header = ("commit", "measured", "machine", "model", "variant", "cell", "threads", "median ms", "rounds")
    table = [(r.commit[:12] + ("+" if r.dirty else ""), r.created, r.machine, r.model,
              r.variant if r.runtime in ("onnxruntime", r.variant) else f"{r.variant}/{r.runtime}",
              r.cell, str(r.threads or "-"), f"{r.median_ms:.4g}", str(r.rounds)) for r in rows]
    widths = [max(len(h), *(len(t[i]) for t in table)) if table else len(h) for i, h in enumerate(header)]
    for line in (header, *table):
        print("  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip())
    return 0


def run_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..atomic import check_creatable
    from ..errors import HistoryError
    from ..layout import HISTORY_MD
    from ..regression.history_report import find_changes
    from ..report.history import write_history

    if args.permutations < 99:
        raise HistoryError(f"--permutations {args.permutations} is too few for a p-value; give at least 99")
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise HistoryError(f"--output {args.output!r} is a file; give a directory")
    check_creatable(out, HistoryError, f"output directory {args.output!r}")
    method = Method(args.alpha, args.permutations, args.min_segment, args.min_change, DEFAULT.seed)
    report = find_changes(args.db, _filter_values(args), method)
    written = write_history(report, out)
    print(written[out / HISTORY_MD], end="")
    print("\nwritten: " + ", ".join(str(p) for p in written))
    return 0
