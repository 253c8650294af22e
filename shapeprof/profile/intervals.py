"""95% intervals for percentiles of a sampled histogram: distribution-free order-statistic bounds.

For a sample of ``n`` rows, the population's q-quantile lies between the sample's order
statistics ``x_(l)`` and ``x_(u)`` (1-based ranks) with probability at least 95%, whatever the
distribution: ``x_(l)`` is at or below it unless fewer than ``l`` sampled rows are, and the
number of sampled rows at or below it is a rank count with a known law. Each tail gets 2.5%.

* Population size ``N`` known (a seeded subset or reservoir sample of ``N`` rows, drawn without
  replacement): the count is hypergeometric, ``H ~ Hypergeom(N, a, n)`` with
  ``a = floor((N - 1) q) + 1``, the population rank below numpy's linear (type 7) percentile of
  all ``N`` rows. ``l`` is the largest rank with ``P(H <= l - 1) <= 2.5%`` and ``u - 1`` the
  smallest with ``P(H <= u - 1) >= 97.5%``; ``[x_(l), x_(u)]`` then contains the full data's
  percentile (which lies between its ranks ``a`` and ``a + 1``). At ``n = N`` the interval
  shrinks to those two ranks.
* ``N`` unknown: the count is binomial, ``Binomial(n, q)`` (independent rows).

Lengths are integers with ties, so the coverage is at least 95% (conservative). A rank below 1
or above ``n`` has no order statistic: that side of the interval is unbounded (None).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
TARGET_HALF_WIDTH = 1.0          # "within +-1 token"
MAX_SEARCH_ROWS = 10 ** 12       # rows-needed search cap when the population size is unknown


@dataclass(frozen=True)
class Interval:
    """A closed interval; None on a side means unbounded there."""

    low: float | None
    high: float | None

    @property
    def width(self) -> float:
        if self.low is None or self.high is None:
            return math.inf
        return self.high - self.low

    def contains(self, value: float) -> bool:
        return ((self.low is None or self.low <= value + 1e-9)
                and (self.high is None or value - 1e-9 <= self.high))

    def to_list(self) -> list[float | None]:
        return [self.low, self.high]

    @classmethod
    def from_list(cls, data: list[float | None]) -> Interval:
        low, high = data
        return cls(None if low is None else float(low), None if high is None else float(high))

    def text(self, fmt: str = "g") -> str:
        low = "?" if self.low is None else format(self.low, fmt)
        high = "?" if self.high is None else format(self.high, fmt)
        return f"[{low}, {high}]"


def rank_bounds(n: int, q: float, population: int | None = None,
                confidence: float = CONFIDENCE) -> tuple[int, int]:
    """1-based ranks ``(l, u)`` of the order statistics bracketing the q-quantile (0 < q < 1).

    ``l == 0`` means no lower bound, ``u == n + 1`` no upper bound."""
    if n < 1:
        raise ValueError("rank bounds need at least one row")
    if population is not None and population < n:
        raise ValueError(f"a sample of {n} rows cannot come from {population} rows")
    alpha = (1.0 - confidence) / 2.0
    if population is None:
        from scipy import stats

        low, high = (int(v) for v in stats.binom(n, q).ppf([alpha, 1.0 - alpha]))
    else:
        ks, cdf = hypergeometric_cdf(n, q, population)
        low = int(ks[min(np.searchsorted(cdf, alpha, side="left"), len(ks) - 1)])
        high = int(ks[min(np.searchsorted(cdf, 1.0 - alpha, side="left"), len(ks) - 1)])
    return max(low, 0), min(high + 1, n + 1)  # P(H <= low - 1) <= alpha, P(H <= high) >= 1 - alpha


def hypergeometric_cdf(n: int, q: float, population: int) -> tuple[np.ndarray, np.ndarray]:
    """The law of the number of sampled rows at or below the quantile, as (counts, cdf) on
    the part of its support holding all but ~1e-30 of the mass (one vectorised pmf)."""
    from scipy import stats

    a = math.floor((population - 1) * q) + 1
    law, support = stats.hypergeom(population, a, n), (max(0, n - (population - a)), min(n, a))
    share = a / population
    mean = n * share
    sd = math.sqrt(n * share * (1 - share) * (population - n) / max(population - 1, 1))
    lo = max(support[0], math.floor(mean - 12 * sd - 1))
    hi = min(support[1], math.ceil(mean + 12 * sd + 1))
    ks = np.arange(lo, hi + 1)
    return ks, np.cumsum(np.exp(law.logpmf(ks)))


def order_statistic(values: np.ndarray, counts: np.ndarray, rank: int) -> int:
    """The ``rank``-th smallest row (1-based) of a (values, counts) histogram."""
    ends = np.cumsum(counts)
    return int(values[np.searchsorted(ends, rank - 1, side="right")])


def percentile_interval(values: np.ndarray, counts: np.ndarray, q: float,
                        population: int | None = None, confidence: float = CONFIDENCE) -> Interval:
    """Interval for the ``q``-th percentile (0-100) of the data a sample histogram came from."""
    n = int(counts.sum())
    low, high = rank_bounds(n, q / 100.0, population, confidence)
    return Interval(float(order_statistic(values, counts, low)) if low >= 1 else None,
                    float(order_statistic(values, counts, high)) if high <= n else None)


def width_at(values: np.ndarray, counts: np.ndarray, q: float, rows: int,
             population: int | None = None) -> float:
    """Width of the q-th percentile's interval for a sample of ``rows`` rows, read on the
    current histogram: the ranks for ``rows`` scaled to this sample's size."""
    n = int(counts.sum())
    low, high = rank_bounds(rows, q / 100.0, population)
    if low < 1 or high > rows:
        return math.inf
    at = [min(n, max(1, math.ceil(r / rows * n))) for r in (low, high)]
    return float(order_statistic(values, counts, at[1]) - order_statistic(values, counts, at[0]))


def rows_for_width(values: np.ndarray, counts: np.ndarray, q: float = 99,
                   half_width: float = TARGET_HALF_WIDTH, population: int | None = None) -> int | None:
    """Fewest rows whose q-th percentile interval spans at most ``2 * half_width`` on this
    histogram (binary search: the width shrinks with the rows, up to ties).

    With a known population the answer is at most all of it (exact values); None when no
    sample size up to ``MAX_SEARCH_ROWS`` gets there."""
    top = population if population is not None else MAX_SEARCH_ROWS
    if width_at(values, counts, q, top, population) > 2 * half_width:
        return top if population is not None else None
    lo, hi = 1, top                            # width(hi) fits
    while lo < hi:
        mid = (lo + hi) // 2
        if width_at(values, counts, q, mid, population) <= 2 * half_width:
            hi = mid
        else:
            lo = mid + 1
    return hi
