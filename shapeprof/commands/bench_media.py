"""``shapeprof bench`` on an exported image or audio model (``commands/bench.py`` dispatches here).

Batch sizes come from ``--batch-sizes`` (else the profile's, else 1,8); image sizes from
``--image-sizes`` and audio lengths (samples) from ``--sequence-lengths``, else from the
profile or the export. Padding policies and replay describe text and are refused.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import BenchError


def run_media(args: argparse.Namespace) -> int:
    from ..bench.media import run_media_benchmark
    from ..bench.media_sweep import parse_image_sizes
    from ..bench.sweep import parse_int_list

    text_only = [flag for flag, given in (("--policies", args.policies), ("--replay", args.replay),
                                          ("--policy-batch-size", args.policy_batch_size)) if given]
    if text_only:
        raise BenchError(f"{', '.join(text_only)} apply to text models (padding policies); drop them "
                         "for an image or audio model")
    batches = parse_int_list(args.batch_sizes, "--batch-sizes") if args.batch_sizes else None
    sizes = None
    if getattr(args, "image_sizes", None):
        sizes = parse_image_sizes(args.image_sizes)
    elif args.sequence_lengths:
        sizes = parse_int_list(args.sequence_lengths, "--sequence-lengths")
    results = run_media_benchmark(
        args.model_dir, args.profile, batch_sizes=batches, sizes=sizes,
        providers=tuple(p.strip() for p in args.providers.split(",") if p.strip()),
        graph_optimization=args.graph_optimization, intra_op_threads=args.threads,
        warmup=args.warmup, min_samples=args.min_samples, min_time_s=args.min_time,
        variants=tuple(v.strip() for v in args.variants.split(",") if v.strip()),
        pytorch=not args.no_pytorch, torch_model=args.torch_model, fresh_process=args.fresh_process,
        rounds=args.rounds, progress=not args.no_progress, flush_denormals=args.flush_denormals)
    if args.output:
        results.save(args.output)
    if args.csv:
        results.to_csv(args.csv)
    print(results.summary())
    if args.output:
        print(f"\nresults: {args.output}", file=sys.stderr)
    return 0
