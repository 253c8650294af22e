"""Options of the scripts that read ``tune_minilm.py``'s output. No side effects on import (unlike
``bench_common``, which turns the tokenizer's parallelism off): ``tune_end_to_end.py`` measures
tokenization as users get it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shapeprof.commands._args import at_least

REPO = Path(__file__).resolve().parents[1]


def tuned_args(doc: str) -> argparse.Namespace | None:
    """``--work-dir``, ``--rounds``, ``-o``; None, with a one-line error, when the tune's output
    is not in the work dir yet."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--work-dir", type=Path, default=REPO / "out" / "bench-work")
    parser.add_argument("--rounds", type=at_least(2, int, "paired rounds: an interval needs 2"), default=8,
                        help="paired rounds, at least 2 (default 8)")
    parser.add_argument("--output", "-o", type=Path, default=None)
    args = parser.parse_args()
    if not (args.work_dir / "tune-minilm" / "deploy.json").is_file():
        print(f"error: no tune in {args.work_dir / 'tune-minilm'}; run benchmarks/tune_minilm.py "
              f"--work-dir {args.work_dir} first", file=sys.stderr)
        return None
    return args

