"""Per-axis statistics from a length histogram (counts per integer length).

Lengths are integers, so the histogram is exact and small (at most ``max_length`` entries):
statistics of any number of rows, streamed or not, come from it. Percentiles use numpy's
default method ("linear", Hyndman & Fan type 7): for ``n`` sorted values ``x``, the q-th
percentile is ``x[h]`` linearly interpolated at ``h = (n - 1) * q / 100`` -- the same numbers as
``numpy.percentile(lengths, q)`` on the expanded rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

PERCENTILES = (50, 90, 95, 99)
HISTOGRAM_BINS = 16


def as_arrays(counts: Mapping[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct lengths and their (positive) counts."""
    items = sorted((int(k), int(v)) for k, v in counts.items() if int(v) > 0)
    values = np.array([k for k, _ in items], dtype=np.int64)
    weights = np.array([v for _, v in items], dtype=np.int64)
    return values, weights


def percentile_from_counts(values: np.ndarray, counts: np.ndarray, q: float) -> float:
    """numpy's linear percentile of the rows a (values, counts) histogram describes."""
    n = int(counts.sum())
    if n == 0:
        raise ValueError("percentile of an empty histogram")
    ends = np.cumsum(counts)                       # rank r (0-based) lies in bin searchsorted(ends, r, "right")
    h = (n - 1) * q / 100.0
    lo, hi = math.floor(h), math.ceil(h)
    x_lo = values[np.searchsorted(ends, lo, side="right")]
    x_hi = values[np.searchsorted(ends, hi, side="right")]
    return float(x_lo + (h - lo) * (x_hi - x_lo))


@dataclass(frozen=True)
class HistogramBin:
    lo: int        # inclusive
    hi: int        # inclusive
    count: int


def binned(values: np.ndarray, counts: np.ndarray, bins: int = HISTOGRAM_BINS) -> tuple[HistogramBin, ...]:
    """Equal-width integer bins from min to max (a display histogram; raw counts are kept too)."""
    lo, hi = int(values[0]), int(values[-1])
    width = max(1, math.ceil((hi - lo + 1) / bins))
    out = []
    for start in range(lo, hi + 1, width):
        end = min(start + width - 1, hi)
        mask = (values >= start) & (values <= end)
        out.append(HistogramBin(start, end, int(counts[mask].sum())))
    return tuple(out)


@dataclass(frozen=True)
class AxisStats:
    """Distribution of one input axis over the sampled rows."""

    name: str
    rows: int
    min: int
    max: int
    mean: float
    std: float
    percentiles: Mapping[str, float]          # {"p50": ..., "p90": ..., "p95": ..., "p99": ...}
    histogram: tuple[HistogramBin, ...]
    truncated_rows: int = 0                   # rows longer than the model limit
    natural_max: int | None = None            # longest row before truncation

    @property
    def varies(self) -> bool:
        """False when every row has the same size: the axis may be exported static."""
        return self.min != self.max

    @property
    def truncated_share(self) -> float:
        return self.truncated_rows / self.rows if self.rows else 0.0

    def p(self, q: int) -> float:
        return float(self.percentiles[f"p{q}"])

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rows": self.rows, "min": self.min, "max": self.max,
                "mean": self.mean, "std": self.std, "percentiles": dict(self.percentiles),
                "percentile_method": "numpy linear (type 7)", "varies": self.varies,
                "truncated_rows": self.truncated_rows, "truncated_share": self.truncated_share,
                "natural_max": self.natural_max,
                "histogram": [[b.lo, b.hi, b.count] for b in self.histogram]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AxisStats:
        return cls(data["name"], int(data["rows"]), int(data["min"]), int(data["max"]),
                   float(data["mean"]), float(data["std"]),
                   {k: float(v) for k, v in data["percentiles"].items()},
                   tuple(HistogramBin(*map(int, b)) for b in data["histogram"]),
                   int(data.get("truncated_rows", 0)), data.get("natural_max"))


def axis_stats(name: str, counts: Mapping[int, int], truncated_rows: int = 0,
               natural_max: int | None = None) -> AxisStats:
    """Statistics of an axis whose sizes over the rows are given as a histogram."""
    values, weights = as_arrays(counts)
    n = int(weights.sum())
    if n == 0:
        raise ValueError(f"no rows to compute {name} statistics from")
    mean = float((values * weights).sum() / n)
    std = float(np.sqrt((weights * (values - mean) ** 2).sum() / n))
    pcts = {f"p{q}": percentile_from_counts(values, weights, q) for q in PERCENTILES}
    return AxisStats(name, n, int(values[0]), int(values[-1]), mean, std, pcts,
                     binned(values, weights), truncated_rows, natural_max)
