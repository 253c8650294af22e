"""The ``shapeprof`` command: a thin argparse shell, one module per verb.

Heavy libraries load only inside a verb's ``run``, so ``shapeprof --help`` is instant.
Every error is one line on stderr. Exit status: 0 done; 1 the check ran and failed
(verification mismatch, regression); 2 bad input or any other error; 130 Ctrl-C;
143 SIGTERM. ``--debug`` (or ``SHAPEPROF_DEBUG=1``) prints the chained traceback below.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from . import __version__
from .atomic import Terminated, sigterm_raises
from .errors import ShapeprofError, VerificationError

COMMANDS = ("export", "list", "profile", "bench", "tune", "compare", "calibrate", "report", "run", "ci",
            "history")
MAX_MESSAGE = 600  # characters of one error line


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line too (subcommand parsers inherit this class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)}; see '{self.prog} --help'\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="shapeprof",
        description="Dataset-aware, shape-profiling ONNX exporter for Hugging Face transformers models.",
    )
    parser.add_argument("--version", action="version", version=f"shapeprof {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="on error, print the chained traceback under the one-line message "
                             "(also: SHAPEPROF_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"shapeprof.commands.{name}").add_parser(sub)
    return parser


def one_line(text: str) -> str:
    """``text`` on one printable line: newlines folded, control and odd bytes escaped, capped."""
    text = " ".join(str(text).split()) if "\n" in str(text) or "\r" in str(text) else str(text)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 3] + "..."


def _debug_wanted(args: argparse.Namespace | None) -> bool:
    env = os.environ.get("SHAPEPROF_DEBUG", "").strip().lower()
    return bool(getattr(args, "debug", False)) or env not in ("", "0", "false", "no")


def _fail(message: str, code: int, error: BaseException, debug: bool) -> int:
    print(one_line(message), file=sys.stderr)
    if debug:
        import traceback

        traceback.print_exception(error, file=sys.stderr)
    return code


def _internal(e: BaseException) -> str:
    first = (str(e).strip().splitlines() or [""])[0]
    return (f"internal error: {type(e).__name__}{': ' + first if first else ''} "
            "(re-run with --debug for the traceback, and report it if the input is right)")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, --version, usage errors (already printed)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    debug = _debug_wanted(args)
    try:
        with sigterm_raises():
            return int(args.run(args) or 0)
    except VerificationError as e:
        return _fail(str(e), 1, e, debug)
    except ShapeprofError as e:
        return _fail(str(e), 2, e, debug)
    except KeyboardInterrupt as e:
        return _fail("interrupted; nothing was written", 130, e, debug)
    except Terminated as e:
        return _fail("terminated; nothing was written", 143, e, debug)
    except BrokenPipeError:  # the reader went away (``shapeprof list | head``): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as e:  # a bug or an unwrapped library failure: still one line
        return _fail(_internal(e), 2, e, debug)


def run() -> None:
    """The console command: ``main``'s exit status. After a signal the process leaves at once,
    without the interpreter's shutdown, where native thread pools (torch, onnxruntime) torn
    down mid-run could crash it after the one-line message (exit 130/143, not -6/-11)."""
    code = main()
    if code in (130, 143):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
