"""``shapeprof bench``: time an exported model with onnxruntime (and PyTorch) on a sweep of shapes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..bench.options import MIN_SAMPLES, MIN_TIME_S, NEW_TOKENS, ROUNDS, WARMUP
from ..errors import BenchError
from ._args import non_negative_float, non_negative_int, positive_int


def add_parser(sub: Any) -> None:
    p = sub.add_parser("bench", help="benchmark an exported model with onnxruntime vs PyTorch")
    p.add_argument("model_dir", metavar="MODEL_DIR", help="a directory written by 'shapeprof export'")
    p.add_argument("--profile", "-p", default=None,
                   help="profile JSON from 'shapeprof profile': sweep at its quantiles and bucket "
                        "edges, real rows, expected latency per padding policy")
    p.add_argument("--output", "-o", default=None, help="results JSON to write (atomically)")
    p.add_argument("--csv", default=None, help="also write the tidy per-cell table as CSV")
    p.add_argument("--grid", choices=("quick", "full"), default="full",
                   help="full: every batch size x length of the profile (default); quick: the policy "
                        "batch size at the lengths the padding-policy estimates need, PyTorch at the "
                        "median length (give --rounds etc. to change its timing)")
    p.add_argument("--batch-sizes", "-b", default=None, help="comma-separated, e.g. 1,8,32")
    p.add_argument("--sequence-lengths", "-s", default=None,
                   help="comma-separated, e.g. 16,64,128 (prompt lengths for a decoder with past, "
                        "samples per clip for an audio model)")
    p.add_argument("--new-tokens", type=positive_int, default=None,
                   help="decoder with past: tokens generated per request, overriding the profile's "
                        "real completion lengths; decode is timed at past lengths up to prompt + N - 1 "
                        f"(default: a chat profile's completions, else {NEW_TOKENS})")
    p.add_argument("--image-sizes", default=None,
                   help="image models: comma-separated HxW sizes, e.g. 224x224,384x384")
    p.add_argument("--variants", default="onnx",
                   help="comma-separated: onnx, optimized, int8, optimized-int8 (default: onnx)")
    p.add_argument("--providers", default="CPUExecutionProvider", help="onnxruntime providers, comma-separated")
    p.add_argument("--graph-optimization", default="all", choices=("disable", "basic", "extended", "all"))
    p.add_argument("--threads", type=positive_int, default=None,
                   help="intra-op threads for onnxruntime and torch (default: physical cores)")
    p.add_argument("--flush-denormals", action=argparse.BooleanOptionalAction, default=True,
                   help="flush denormal floats to zero (default): onnxruntime's "
                        "session.set_denormal_as_zero, and the same for the PyTorch baseline; "
                        "padded batches make onnxruntime's softmax produce denormals, which x86 "
                        "CPUs compute slowly. --no-flush-denormals keeps them")
    p.add_argument("--warmup", type=non_negative_int, default=WARMUP, help=f"untimed calls per cell (default {WARMUP})")
    p.add_argument("--min-samples", type=positive_int, default=MIN_SAMPLES,
                   help=f"timed calls per cell and round, at least (default {MIN_SAMPLES})")
    p.add_argument("--min-time", type=non_negative_float, default=MIN_TIME_S,
                   help=f"seconds per cell and round, at least (default {MIN_TIME_S})")
    p.add_argument("--fresh-process", action="store_true", help="measure each round in a new process")
    p.add_argument("--rounds", type=positive_int, default=ROUNDS,
                   help="rounds over the grid; each visits every cell and runtime in turn, and "
                        f"speedups are paired by round (default {ROUNDS})")
    p.add_argument("--no-pytorch", action="store_true", help="skip the PyTorch eager baseline")
    p.add_argument("--torch-model", default=None,
                   help="original model directory for the PyTorch baseline when MODEL_DIR has no weights")
    p.add_argument("--policies", default=None,
                   help="padding policies for expected latency: data_max, max_length, pad:N, longest, "
                        "sorted, buckets[:E1,E2] (default: data_max,pad:128,longest,sorted,buckets)")
    p.add_argument("--policy-batch-size", type=positive_int, default=None,
                   help="batch size of the expected-latency estimates (default: the largest measured)")
    p.add_argument("--replay", type=non_negative_int, default=0, metavar="ROWS",
                   help="replay ROWS sampled data rows per policy and compare with the prediction")
    p.add_argument("--quiet", "-q", "--no-progress", dest="quiet", action="store_true",
                   help="no progress output (stderr carries errors only)")
    p.set_defaults(run=run)


def check_outputs(args: argparse.Namespace) -> None:
    """Results paths are checked before the (long) benchmark, not discovered after it."""
    from ..atomic import check_output_file

    for flag, path in (("--output", args.output), ("--csv", args.csv)):
        if path:
            check_output_file(path, BenchError, flag)
    if args.output and args.csv and Path(args.output).resolve() == Path(args.csv).resolve():
        raise BenchError(f"--output and --csv are the same file {args.output!r}; give two paths")


def run(args: argparse.Namespace) -> int:
    """Any modality: ``run_benchmark`` sends image and audio models to their own sweep."""
    from ..bench.benchmark import run_benchmark
    from ..bench.options import BenchOptions
    from . import quiet_libraries

    check_outputs(args)
    quiet_libraries()
    results = run_benchmark(args.model_dir, args.profile, BenchOptions.from_args(args))
    if args.output:
        results.save(args.output)
    if args.csv:
        results.to_csv(args.csv)
    print(results.summary())
    if args.output and not args.quiet:
        print(f"\nresults: {args.output}", file=sys.stderr)
    return 0
