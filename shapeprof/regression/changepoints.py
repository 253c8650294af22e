"""Where a series of per-commit latencies changed: binary segmentation with Pettitt's rank test.

The method (named in every history report, with its parameters):

1. The series is one value per commit, in commit order (the median over the runs at that
   commit of each run's median latency): separate runs are the unit of replication, since
   a run's rounds all share that run's machine state.
2. Is there a step? Pettitt's statistic: for each split ``k`` leaving at least
   ``min_segment`` commits on each side, the rank sum of the first ``k`` values against its
   expectation, standardised (``Z_k``); the test statistic is the largest ``|Z_k|``.
3. Its p-value is a permutation test of that maximum (``permutations`` shuffles of the ranks,
   seeded, so a report is reproducible): exact for a flat series of exchangeable values,
   whatever the noise's shape, and the search over splits is accounted for.
4. When ``p < alpha`` the series is split where ``k(n-k)/n`` times the squared gap between the
   means of the two sides' logs is largest (least squares; ranks tie between several splits
   of a clean step), and both halves are searched again (binary segmentation). The rank test
   keeps one slow run from making a change; a step must hold for ``min_segment`` commits on
   both sides to be found.
5. Steps whose ratio (median after / median before) is within ``min_change`` of 1 are dropped,
   smallest first: significant but too small to matter.

What it can detect: a sustained step (not a one-commit spike, not a slow drift spread over many
commits) at least ``min_segment`` commits from either end. :attr:`Detection.smallest_step`
estimates the smallest step found half the time when it sits mid-series, from the series'
noise (a robust sigma of successive log differences) and its length.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from .changepoint_method import NAME, Method

__all__ = ["NAME", "ChangePoint", "Detection", "Method", "detect", "min_commits", "smallest_step"]


@dataclass(frozen=True)
class ChangePoint:
    index: int            # the first point of the new level
    before_ms: float      # median of the segment before
    after_ms: float       # median of the segment after
    p_value: float

    @property
    def ratio(self) -> float:
        """after / before: above 1 the series got slower."""
        return self.after_ms / self.before_ms


@dataclass(frozen=True)
class Detection:
    changes: tuple[ChangePoint, ...]
    segments: tuple[tuple[int, int, float], ...]   # (start, stop, median ms), covering the series
    sigma: float                                   # robust noise of the log values
    smallest_step: float | None                    # ratio found half the time mid-series; None: too short


def detect(values_ms: Sequence[float], method: Method | None = None) -> Detection:
    """The change points of ``values_ms`` (one positive value per commit, in order)."""
    method = method or Method()
    y = np.log(np.asarray(values_ms, dtype=np.float64))
    if y.size and not np.all(np.isfinite(y)):
        raise ValueError("change points need positive, finite latencies")
    rng = np.random.default_rng(method.seed)
    found: dict[int, float] = {}
    _split(y, 0, y.size, method, rng, found)
    cuts = _prune(y, sorted(found), method.min_change)
    segments = _segments(y, cuts)
    changes = tuple(ChangePoint(c, math.exp(segments[i][2]), math.exp(segments[i + 1][2]), found[c])
                    for i, c in enumerate(cuts))
    sigma = noise_sigma(y)
    return Detection(changes, tuple((a, b, math.exp(m)) for a, b, m in segments), sigma,
                     smallest_step(y.size, sigma, method))


def noise_sigma(y: np.ndarray) -> float:
    """Robust sigma of one value: MAD of successive differences / sqrt 2 (a step moves one
    difference only, so it barely counts)."""
    if y.size < 3:
        return math.nan
    d = np.diff(y)
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / math.sqrt(2))


def _split(y: np.ndarray, start: int, stop: int, method: Method, rng: np.random.Generator,
           found: dict[int, float]) -> None:
    if stop - start < 2 * method.min_segment:
        return
    k, p = pettitt(y[start:stop], method, rng)
    if p >= method.alpha:
        return
    found[start + k] = p
    _split(y, start, start + k, method, rng, found)
    _split(y, start + k, stop, method, rng, found)


def pettitt(x: np.ndarray, method: Method, rng: np.random.Generator) -> tuple[int, float]:
    """The best split of ``x`` (index of the first value after it) and the permutation p-value
    of Pettitt's max |Z| (is there a step at all?)."""
    ranks = _ranks(x)
    observed = float(np.max(np.abs(_z(ranks[None, :], method.min_segment)[0])))
    maxima = _permuted_maxima(ranks, method, rng)
    p = (1 + int(np.sum(maxima >= observed - 1e-9))) / (method.permutations + 1)
    return locate(x, method.min_segment), p


def locate(x: np.ndarray, m: int) -> int:
    """Where the step is: the split maximising k(n-k)/n (mean left - mean right)^2 of the logs
    (the least-squares location of one mean shift). Ranks say whether there is a step but place
    it coarsely: with a clean step, several splits inside the lower block tie."""
    n = x.size
    k = np.arange(m, n - m + 1)
    total = np.cumsum(x)
    left = total[k - 1] / k
    right = (total[-1] - total[k - 1]) / (n - k)
    return m + int(np.argmax(k * (n - k) / n * (left - right) ** 2))


def _permuted_maxima(ranks: np.ndarray, method: Method, rng: np.random.Generator) -> np.ndarray:
    shuffled = rng.permuted(np.tile(ranks, (method.permutations, 1)), axis=1)
    return np.max(np.abs(_z(shuffled, method.min_segment)), axis=1)


def _ranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x).astype(np.float64)


def _z(ranks: np.ndarray, m: int) -> np.ndarray:
    """Standardised rank sums of the first k values, k = m .. n - m (one row per ranking)."""
    n = ranks.shape[1]
    k = np.arange(m, n - m + 1, dtype=np.float64)
    sums = np.cumsum(ranks, axis=1)[:, m - 1:n - m]
    return (sums - k * (n + 1) / 2) / np.sqrt(k * (n - k) * (n + 1) / 12)


def _prune(y: np.ndarray, cuts: list[int], min_change: float) -> list[int]:
    """Drop, smallest first, the changes whose step is under ``min_change``."""
    limit = math.log1p(min_change)
    while cuts:
        segs = _segments(y, cuts)
        steps = [abs(segs[i + 1][2] - segs[i][2]) for i in range(len(cuts))]
        i = int(np.argmin(steps))
        if steps[i] >= limit:
            break
        cuts = cuts[:i] + cuts[i + 1:]
    return cuts


def _segments(y: np.ndarray, cuts: list[int]) -> list[tuple[int, int, float]]:
    edges = [0, *cuts, y.size]
    return [(a, b, float(np.median(y[a:b]))) for a, b in pairwise(edges) if b > a]


def smallest_step(n: int, sigma: float, method: Method) -> float | None:
    """The step ratio Pettitt's test finds half the time at the middle of ``n`` commits with
    noise ``sigma`` (normal shift model); None when no step could be significant."""
    if n < 2 * method.min_segment or not math.isfinite(sigma):
        return None
    from scipy.stats import norm

    crit = critical_z(n, method)
    k = n // 2
    theta = 0.5 + crit / math.sqrt(12 * k * (n - k) / (n + 1))   # P(after > before) needed
    if theta >= 1 or not math.isfinite(crit):
        return None
    step = sigma * math.sqrt(2) * float(norm.ppf(theta))
    return max(math.exp(step), 1 + method.min_change)


@functools.lru_cache(maxsize=256)
def critical_z(n: int, method: Method) -> float:
    """The (1 - alpha) quantile of max |Z| over splits for a flat series of n values; inf when
    even a perfect split cannot reach alpha."""
    rng = np.random.default_rng(method.seed)
    ranks = np.arange(1, n + 1, dtype=np.float64)      # a flat series' ranks, and a perfect step's
    maxima = _permuted_maxima(ranks, method, rng)
    perfect = float(np.max(np.abs(_z(ranks[None, :], method.min_segment))))
    if (1 + int(np.sum(maxima >= perfect - 1e-9))) / (method.permutations + 1) >= method.alpha:
        return math.inf
    return float(np.quantile(maxima, 1 - method.alpha))


def min_commits(method: Method, longest: int = 200) -> int | None:
    """The fewest commits in which a perfectly clean step can be significant under ``method``."""
    for n in range(2 * method.min_segment, longest + 1):
        if math.isfinite(critical_z(n, method)):
            return n
    return None
