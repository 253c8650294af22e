"""``shapeprof tune``: the fastest deployment that keeps accuracy, chosen on the data, proven by replay."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._args import non_negative_float, non_negative_int, positive_float, positive_int


def add_parser(sub: Any) -> None:
    p = sub.add_parser("tune", help="choose variant, batching, batch size and threads under an SLO "
                                    "and an accuracy budget; prove it by replay")
    p.add_argument("model_dir", metavar="MODEL_DIR", help="a directory written by 'shapeprof export'")
    p.add_argument("--profile", "-p", required=True, help="profile.json of the data to serve")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="directory to create: tune.json, tune.md, deploy.json, serve.py, the chosen graph")
    slo = p.add_mutually_exclusive_group()
    slo.add_argument("--slo-ms", type=positive_float, default=None,
                     help="median latency per batch at most this many ms (default: no SLO)")
    slo.add_argument("--slo-p99-ms", type=positive_float, default=None,
                     help="p99 latency per batch at most this many ms")
    add_tune_arguments(p)
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty output directory")
    p.add_argument("--quiet", "-q", "--no-progress", dest="quiet", action="store_true",
                   help="no progress output (stderr carries errors only)")
    p.set_defaults(run=run)


def add_tune_arguments(group: Any) -> None:
    """Options shared by ``tune`` and ``export --tune``."""
    from ..tune.options import DEFAULT_WINDOW, PROOF_ROUNDS, VARIANTS

    group.add_argument("--accuracy-data", default=None, metavar="D",
                       help="labelled data the variants are scored on (default: by model kind; STS-B "
                            "dev for embedding models)")
    group.add_argument("--accuracy-rows", type=positive_int, default=None,
                       help="labelled rows to score (default: all)")
    group.add_argument("--max-accuracy-drop", type=non_negative_float, default=0.5,
                       help="largest accepted drop of the task metric in points (default: 0.5)")
    group.add_argument("--window", type=positive_int, default=DEFAULT_WINDOW,
                       help=f"requests a server sorts by length at once (default: {DEFAULT_WINDOW})")
    group.add_argument("--tune-variants", dest="tune_variants", default=",".join(VARIANTS),
                       help=f"graph variants to weigh (default: {','.join(VARIANTS)})")
    group.add_argument("--max-batch", type=positive_int, default=256,
                       help="largest batch size tried (default: 256)")
    group.add_argument("--threads", type=positive_int, default=None,
                       help="cores to use (default: the physical cores)")
    group.add_argument("--proof-rounds", type=positive_int, default=PROOF_ROUNDS,
                       help="paired rounds of the proof on held-out rows: replay and prediction side by "
                            f"side, winner and baseline side by side (default: {PROOF_ROUNDS})")
    group.add_argument("--tune-seed", dest="tune_seed", type=non_negative_int, default=0,
                       help="seed of the search/held-out split (default: 0)")


def options_from(args: argparse.Namespace) -> Any:
    from ..tune.options import TuneOptions

    variants = tuple(v.strip() for v in args.tune_variants.split(",") if v.strip())
    return TuneOptions(slo_ms=getattr(args, "slo_ms", None), slo_p99_ms=getattr(args, "slo_p99_ms", None),
                       accuracy_data=args.accuracy_data, accuracy_rows=args.accuracy_rows,
                       max_accuracy_drop=args.max_accuracy_drop,
                       window=args.window, variants=variants, max_batch=args.max_batch, threads=args.threads,
                       proof_rounds=args.proof_rounds, seed=args.tune_seed, progress=not args.quiet)


def run(args: argparse.Namespace) -> int:
    from ..tune import tune
    from ..tune.report import summary
    from . import quiet_libraries

    options = options_from(args)
    quiet_libraries()
    result = tune(args.model_dir, args.profile, args.output, options, overwrite=args.overwrite)
    print(summary(result, args.output))
    return exit_status(result)


def exit_status(result: Any) -> int:
    """1 with a message naming the closest candidates when none meets the SLO, else 0."""
    if result.winner is not None:
        return 0
    from ..tune.candidates import closest

    slo = result.slo
    near = closest([(r.candidate, r.prediction) for r in result.rows[1:]], slo) if slo else []
    print(f"tune: no candidate meets the SLO ({slo.label if slo else '?'}); the closest:", file=sys.stderr)
    for c, p in near:
        print(f"  {c.label}: p50 {p.p50_ms:.1f} ms, p99 {p.p99_ms:.1f} ms per batch, "
              f"{p.sequences_per_s:,.0f} seq/s", file=sys.stderr)
    return 1
