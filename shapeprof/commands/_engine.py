"""``--engine`` and its Ray options, shared by ``profile`` and ``export --dataset``."""

from __future__ import annotations

import argparse
from typing import Any

from ._args import positive_int

ENGINES = ("stream", "ray")   # shapeprof.profile.engines.ENGINES (not imported: --help stays light)


def add_engine_arguments(group: Any) -> None:
    group.add_argument("--engine", choices=ENGINES, default="stream",
                       help="where rows are tokenized: this process (stream), or a Ray Data job "
                            "over every row, on a local instance or a cluster (ray; needs "
                            "pip install 'shapeprof[ray]') (default: stream)")
    group.add_argument("--ray-address", default=None, metavar="ADDR",
                       help="Ray cluster to join, e.g. 10.0.0.5:6379 (default: $RAY_ADDRESS, else "
                            "a local instance started for the run and stopped after it)")
    group.add_argument("--ray-workers", type=positive_int, default=None, metavar="N",
                       help="tokenizer workers, one CPU each (default: every CPU of the cluster)")


def engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """``profile_dataset`` keywords; Ray options without ``--engine ray`` are a usage error."""
    from ..errors import ProfileError

    if args.engine != "ray":
        given = [flag for flag, value in (("--ray-address", args.ray_address),
                                          ("--ray-workers", args.ray_workers)) if value is not None]
        if given:
            raise ProfileError(f"{' and '.join(given)} apply to --engine ray; add --engine ray "
                               "or drop them")
        return {}
    return dict(engine="ray", ray_address=args.ray_address, ray_workers=args.ray_workers)
