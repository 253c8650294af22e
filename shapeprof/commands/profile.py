"""``shapeprof profile``: dataset + model tokenizer -> shape profile (summary, optional JSON)."""

from __future__ import annotations

import argparse
from typing import Any

from ._args import positive_int
from ._chat import add_chat_arguments, chat_options
from ._data import add_data_arguments
from ._engine import add_engine_arguments, engine_options


def _positive_ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from e
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def add_parser(sub: Any) -> None:
    p = sub.add_parser("profile", help="profile the token-length shapes a dataset gives a model")
    p.add_argument("--model", "-m", default=None,
                   help="local model directory or Hub id whose tokenizer and config to use "
                        "(default: the embedded all-MiniLM-L6-v2)")
    p.add_argument("--dataset", "-d", default="glue",
                   help="glue (SST-2), glue/<task>, a Hub dataset id (id:config), a data file, or "
                        "with --data-files a format name (csv, tsv, json, parquet) (default: glue)")
    add_data_arguments(p)
    p.add_argument("--streaming", action="store_true",
                   help="read in chunks with bounded memory (reservoir sample with --rows)")
    p.add_argument("--batch-sizes", type=_positive_ints, default=(1, 8, 32), metavar="B[,B...]",
                   help="batch sizes for in-batch padding and the batch range (default: 1,8,32)")
    p.add_argument("--buckets", type=positive_int, default=None, metavar="K",
                   help="number of length buckets (default: chosen automatically)")
    p.add_argument("--max-policy", choices=("max", "p99"), default="max",
                   help="recommended max sequence length: the data max or its p99 (default: max)")
    add_chat_arguments(p)
    p.add_argument("--output", "-o", default=None, metavar="PROFILE_JSON",
                   help="write the profile JSON here (atomically)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_engine_arguments(p.add_argument_group("engine (profiles at scale)"))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..atomic import check_output_file
    from ..errors import ProfileError
    from ..loading import require_preprocessor_files
    from ..profile import profile_dataset
    from . import quiet_libraries

    if args.output:
        check_output_file(args.output, ProfileError, "--output")
    engine = engine_options(args)
    quiet_libraries()
    if args.model is not None:
        require_preprocessor_files(args.model)
    profile = profile_dataset(args.model, args.dataset, data_dir=args.data_dir,
                              data_files=args.data_files, split=args.split,
                              text_columns=args.text_columns, rows=args.rows, seed=args.seed,
                              streaming=args.streaming, batch_sizes=args.batch_sizes,
                              buckets=args.buckets, max_policy=args.max_policy,
                              progress=not args.quiet, **chat_options(args), **engine)
    print(profile.summary())
    if args.output:
        path = profile.save(args.output)
        print(f"\nwrote {path}")
    return 0
