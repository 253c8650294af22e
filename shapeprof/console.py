"""Progress lines on stderr, one small helper for every stage."""

from __future__ import annotations

import sys


def say(enabled: bool, message: str) -> None:
    """Print ``shapeprof: message`` on stderr when ``enabled`` (progress, never results)."""
    if enabled:
        print(f"shapeprof: {message}", file=sys.stderr, flush=True)
