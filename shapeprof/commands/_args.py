"""argparse types that check numbers as they are parsed: bad values stop before any work (exit 2)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _number(text: str, kind: type) -> int | float:
    try:
        value = kind(text)
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def at_least(low: int, kind: type, what: str) -> Callable[[str], int | float]:
    """An argparse type for numbers of ``kind`` no smaller than ``low``."""
    noun = "an integer" if kind is int else "a number"

    def parse(text: str) -> int | float:
        value = kind(_number(text, kind))
        if value < low:
            raise argparse.ArgumentTypeError(f"expected {noun} >= {low}, got {text!r}")
        return value

    parse.__doc__ = f"{noun.capitalize()} >= {low} ({what})."
    return parse


positive_int = at_least(1, int, "sizes, rounds, counts")
non_negative_int = at_least(0, int, "seeds, warm-up calls, optional counts")
non_negative_float = at_least(0, float, "tolerances, seconds")


def positive_float(text: str) -> float:
    """A finite number > 0 (latency objectives in ms)."""
    value = float(_number(text, float))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _fraction(closed_at_zero: bool) -> Callable[[str], float]:
    """An argparse type for a number below 1 and above 0 (or from 0 when ``closed_at_zero``)."""
    low = "from 0" if closed_at_zero else "above 0"

    def parse(text: str) -> float:
        value = float(_number(text, float))
        if not (0 <= value if closed_at_zero else 0 < value) or value >= 1:
            raise argparse.ArgumentTypeError(f"expected a fraction {low} to below 1, got {text!r}")
        return value

    parse.__doc__ = f"A fraction {low} to below 1."
    return parse


open_fraction = _fraction(False)        # significance levels, rates: 0 < x < 1
fraction = _fraction(True)              # shares of a change: 0 <= x < 1
