"""``shapeprof report``: a benchmark's results (and a base run to compare with) -> one HTML page."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("report", help="write an HTML page of plots from 'shapeprof bench' results")
    p.add_argument("results", metavar="RESULTS.json", help="results of a run (bench.json, bench -o)")
    p.add_argument("base", metavar="BASE.json", nargs="?", default=None,
                   help="results of a reference run: adds the comparison (ratio per cell by verdict)")
    p.add_argument("--output", "-o", default="report.html", help="the page to write (default: report.html)")
    p.add_argument("--ignore", default="", metavar="KEYS",
                   help="with BASE.json: parts of the cell definition left out of the match (see compare)")
    p.add_argument("--thresholds", default=None, metavar="YAML",
                   help="with BASE.json: thresholds file (default: the thresholds.yaml shipped in the package)")
    p.add_argument("--tune", default=None, metavar="TUNE",
                   help="a 'shapeprof tune' output directory or its tune.json: adds the tune's tables "
                        "(accuracy, candidates, recommendation, proof) as a section")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..atomic import check_output_file
    from ..errors import ReportError
    from ..report import write_report

    check_output_file(args.output, ReportError, "--output")
    results = load_results(args.results, "results")
    tune = None if args.tune is None else load_tune(args.tune)
    comparison = None
    if args.base is not None:
        from ..regression import compare_results, load_thresholds

        base = load_results(args.base, "base")
        ignore = [k.strip() for k in args.ignore.split(",") if k.strip()]
        comparison = compare_results(base.to_dict(), results.to_dict(), ignore,
                                     load_thresholds(args.thresholds))
    path = write_report(results, args.output, comparison, (args.base or "base", args.results), tune=tune)
    print(f"wrote {path}")
    return 0


def load_results(path: str, which: str) -> Any:
    """Results of any schema version; a missing or bad file is a one-line ReportError."""
    from pathlib import Path

    from .. import schema
    from ..bench.results import BenchResults
    from ..errors import ReportError

    data = schema.load("bench", Path(path), ReportError)
    try:
        return BenchResults.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ReportError(f"{which} {path!r} are malformed ({e!r}); give a file written by "
                          "'shapeprof bench -o' or 'export --bench'") from e


def load_tune(path: str) -> Any:
    """A tune result from its directory or tune.json; a missing or bad file is a one-line ReportError."""
    from pathlib import Path

    from .. import schema
    from ..errors import ReportError
    from ..layout import TUNE_FILE
    from ..tune.result import TuneResult

    where = Path(path) / TUNE_FILE if Path(path).is_dir() else Path(path)
    data = schema.load("tune", where, ReportError)
    try:
        return TuneResult.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ReportError(f"--tune {str(where)!r} is malformed ({e!r}); give the tune.json 'shapeprof tune' "
                          "wrote") from e
