"""What a comparison's data can resolve: the noise of a log ratio, and the rounds it would need.

A :class:`Noise` is the estimate of a log ratio, its standard error and degrees of freedom.
The smallest detectable change at significance ``p`` and probability ``power`` is
``exp((t[1 - p/2] + t[power]) * se)``: the slowdown whose estimate clears the two-sided critical
value that often. More rounds shrink the within-run part of ``se``, never the between-run part;
more runs a side (run sets) shrink both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..bench.paired import mean_and_se
from .thresholds import Thresholds

MAX_ROUNDS = 1000
MAX_RUNS = 1000


@dataclass(frozen=True)
class Noise:
    mean: float        # the estimated log ratio
    se: float          # its standard error
    df: float          # degrees of freedom of the t distribution (inf: normal)

    def _t(self, q: float) -> float:
        from scipy.stats import norm, t

        return float(norm.ppf(q)) if math.isinf(self.df) else float(t.ppf(q, self.df))

    def interval(self, confidence: float) -> tuple[float, float]:
        half = self._t(0.5 + confidence / 2.0) * self.se
        return math.exp(self.mean - half), math.exp(self.mean + half)

    def p_value(self) -> float:
        from scipy.stats import norm, t

        if self.se == 0.0:
            return 1.0 if self.mean == 0.0 else 0.0
        z = abs(self.mean) / self.se
        tail = norm.sf(z) if math.isinf(self.df) else t.sf(z, self.df)
        return float(min(1.0, 2.0 * tail))

    def detectable(self, p_value: float, power: float) -> float:
        return math.exp((self._t(1.0 - p_value / 2.0) + self._t(power)) * self.se)


def paired_noise(logs: np.ndarray, rounds: int | None = None) -> Noise:
    """Per-round log ratios of interleaved runs (``rounds``: as if there were that many)."""
    mean, se = mean_and_se(logs, rounds)
    return Noise(mean, se, float((rounds or logs.size) - 1))


def separate_noise(base: np.ndarray, cand: np.ndarray, between_sd: float, within_sd: float,
                   rounds: int | None = None) -> Noise:
    """Log round values of one run a side: ``set_noise`` of two sets of one run."""
    return set_noise([base], [cand], between_sd, within_sd, rounds)


def set_noise(base: Sequence[np.ndarray], cand: Sequence[np.ndarray], between_sd: float,
              within_sd: float, rounds: int | None = None, runs: int | None = None) -> Noise:
    """Log round values of two run sets (one array per run): the difference of the sides' mean
    run levels (a level is the median of the run's round values). Its variance per side is
    ``(between_sd^2 + within_sd^2 * pi/2 / rounds) / runs`` (the median's variance is pi/2 times
    the mean's; unequal rounds: their mean inverse); at one run a side that is the two-run
    formula ``within_sd^2 * pi/2 * (1/n + 1/m) + 2 * between_sd^2``. ``rounds``/``runs``: as if
    every run had that many rounds, or each side that many runs. Both scales counted as known."""
    mean = float(np.mean([np.median(c) for c in cand]) - np.mean([np.median(b) for b in base]))
    sides = [(runs or len(side), np.mean([1.0 / (rounds or r.size) for r in side])) for side in (base, cand)]
    within = within_sd ** 2 * (math.pi / 2.0) * sum(float(inv) / n for n, inv in sides)
    between = between_sd ** 2 * sum(1.0 / n for n, _ in sides)
    return Noise(mean, math.sqrt(within + between), math.inf)


def level_within_var(within_sd: float, rounds: int) -> float:
    """The within-run variance of a run's level (the median of ``rounds`` round values)."""
    return within_sd ** 2 * (math.pi / 2.0) / rounds


def set_between_sd(groups: Sequence[Sequence[np.ndarray]], within_sd: float) -> float:
    """The between-run sd the run sets themselves show (one group per cell and side, each a
    list of >= 2 runs' log round values): the robust sd of a run's level from every pairwise
    difference of levels within a group, 1.4826 x median |difference| / sqrt(2), pooled over
    the groups, less the within-run variance of a level (``level_within_var``), >= 0."""
    diffs, within = [], []
    for runs in groups:
        levels = [float(np.median(r)) for r in runs]
        diffs += [abs(a - b) for i, a in enumerate(levels) for b in levels[i + 1:]]
        within += [level_within_var(within_sd, r.size) for r in runs]
    if not diffs:
        return 0.0
    level_sd = 1.4826 * float(np.median(diffs)) / math.sqrt(2.0)
    return math.sqrt(max(0.0, level_sd ** 2 - float(np.mean(within))))


def pooled_round_sd(groups: Sequence[np.ndarray]) -> float:
    """Robust sd of log round values around each group's median (one group per cell and run):
    1.4826 x the median absolute deviation over all groups, the medians' own zero residuals left
    out. The machine's state is shared by every cell of a run, so one scale serves them all, and
    a round disturbed by another process moves the median deviation, not the scale."""
    dev = np.concatenate([np.abs(g - np.median(g)) for g in groups if g.size >= 2] or [np.zeros(0)])
    dev = dev[dev > 0]
    return float(1.4826 * np.median(dev)) if dev.size else 0.0


def rounds_to_resolve(noise_at: Callable[[int], Noise], rounds: int, t: Thresholds) -> int | None:
    """The fewest rounds per side (same spread) that resolve ``t.regression_ratio``; None when
    even ``MAX_ROUNDS`` cannot (the between-run part alone is too large)."""
    return fewest_to_resolve(noise_at, rounds, MAX_ROUNDS, t)


def fewest_to_resolve(noise_at: Callable[[int], Noise], least: int, most: int, t: Thresholds
                      ) -> int | None:
    """The fewest ``n`` in [least, most] whose ``noise_at(n)`` resolves ``t.regression_ratio``
    (its smallest detectable change falls with ``n``: bisect); None when ``most`` cannot."""
    if noise_at(most).detectable(t.p_value, t.power) > t.regression_ratio:
        return None
    low, high = least, most
    while low < high:
        mid = (low + high) // 2
        if noise_at(mid).detectable(t.p_value, t.power) <= t.regression_ratio:
            high = mid
        else:
            low = mid + 1
    return low


def overall_detectable(ses: Sequence[float], shared_var: float, t: Thresholds,
                       dfs: Sequence[float] | None = None) -> float:
    """Smallest uniform slowdown the geometric mean of the cells' ratios would detect, from the
    cells' standard errors: their own variances averaged, ``shared_var`` (the between-run part,
    common to every cell) counted once in full; t quantiles with Satterthwaite's degrees of
    freedom from the cells' ``dfs`` (the shared part counted as known), normal without them."""
    if not ses:
        return math.nan
    own = [max(0.0, se ** 2 - shared_var) / len(ses) ** 2 for se in ses]
    total = sum(own) + shared_var
    spread = sum(v ** 2 / d for v, d in zip(own, dfs or ())) if dfs else 0.0
    df = total ** 2 / spread if spread > 0 else math.inf
    return Noise(0.0, math.sqrt(total), df).detectable(t.p_value, t.power)
