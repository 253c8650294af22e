"""``shapeprof bench``: time an exported model with onnxruntime (and PyTorch) on a sweep of shapes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

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
    p.add_argument("--batch-sizes", "-b", default=None, help="comma-separated, e.g. 1,8,32")
    p.add_argument("--sequence-lengths", "-s", default=None,
                   help="comma-separated, e.g. 16,64,128 (prompt lengths for a decoder with past)")
    p.add_argument("--new-tokens", type=positive_int, default=32,
                   help="decoder with past: tokens generated per request; decode is timed at past "
                        "lengths up to prompt + N - 1 (default 32)")
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
    p.add_argument("--warmup", type=non_negative_int, default=3, help="untimed calls per cell (default 3)")
    p.add_argument("--min-samples", type=positive_int, default=4,
                   help="timed calls per cell and round, at least (default 4)")
    p.add_argument("--min-time", type=non_negative_float, default=0.1,
                   help="seconds per cell and round, at least (default 0.1)")
    p.add_argument("--fresh-process", action="store_true", help="measure each round in a new process")
    p.add_argument("--rounds", type=positive_int, default=5,
                   help="rounds over the grid; each visits every cell and runtime in turn, and "
                        "speedups are paired by round (default 5)")
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
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise BenchError(f"empty list {text!r}; give comma-separated names")
    return items


def check_outputs(args: argparse.Namespace) -> None:
    """Results paths are checked before the (long) benchmark, not discovered after it."""
    from ..atomic import check_output_file

    for flag, path in (("--output", args.output), ("--csv", args.csv)):
        if path:
            check_output_file(path, BenchError, flag)
    if args.output and args.csv and Path(args.output).resolve() == Path(args.csv).resolve():
        raise BenchError(f"--output and --csv are the same file {args.output!r}; give two paths")


def run(args: argparse.Namespace) -> int:
    from ..bench.benchmark import run_benchmark
    from ..bench.sweep import parse_int_list
    from . import quiet_libraries

    check_outputs(args)
    quiet_libraries()
    from ..bench.media import is_media_model_dir

    if is_media_model_dir(args.model_dir):  # image/audio: batch x size (or length) sweep
        from .bench_media import run_media

        return run_media(args)
    batches = parse_int_list(args.batch_sizes, "--batch-sizes") if args.batch_sizes is not None else None
    lengths = (parse_int_list(args.sequence_lengths, "--sequence-lengths")
               if args.sequence_lengths is not None else None)
    policies = args.policies.split(",") if args.policies else None
    results = run_benchmark(
        args.model_dir, args.profile, batch_sizes=batches, sequence_lengths=lengths,
        providers=tuple(_split(args.providers) or ()), graph_optimization=args.graph_optimization,
        intra_op_threads=args.threads, warmup=args.warmup, min_samples=args.min_samples,
        min_time_s=args.min_time, variants=tuple(_split(args.variants) or ()),
        pytorch=not args.no_pytorch, torch_model=args.torch_model, fresh_process=args.fresh_process,
        rounds=args.rounds, policies=policies, policy_batch_size=args.policy_batch_size,
        replay_rows=args.replay, progress=not args.no_progress, new_tokens=args.new_tokens,
        flush_denormals=args.flush_denormals)
    if args.output:
        results.save(args.output)
    if args.csv:
        results.to_csv(args.csv)
    print(results.summary())
    if args.output:
        print(f"\nresults: {args.output}", file=sys.stderr)
    return 0
