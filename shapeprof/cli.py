"""The ``shapeprof`` command: a thin argparse shell, one module per verb.

Heavy libraries load only inside a verb's ``run``, so ``shapeprof --help`` is instant.
Every ShapeprofError becomes one line on stderr and exit status 2
(1 is kept for "the check ran and failed", e.g. a verification mismatch or regression).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from . import __version__
from .errors import ShapeprofError, VerificationError

COMMANDS = ("export", "list", "profile", "bench", "compare", "run", "ci")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shapeprof",
        description="Dataset-aware, shape-profiling ONNX exporter for Hugging Face transformers models.",
    )
    parser.add_argument("--version", action="version", version=f"shapeprof {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"shapeprof.commands.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        return int(args.run(args) or 0)
    except VerificationError as e:
        print(e, file=sys.stderr)
        return 1
    except ShapeprofError as e:
        print(e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
