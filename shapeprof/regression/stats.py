"""Per-cell statistics: the ratio, its interval, a p-value, what the data can resolve, the verdict.

Two levels of replication: a run is one draw of the machine's state, and its rounds are draws
within it (a round's samples share that round's state, so each round is reduced to one value:
its median, or its lower quartile for separate runs, see ``regression.compare``; the tests work
on the logs of those). Rounds alone understate the noise between runs.

- Separate runs (``separate_ratio_test``): the difference of the two runs' median log round
  values, with a robust within-run scale pooled over the cells (``pooled_round_sd``) and a
  between-run component ``between_run_sd`` (the spread of a whole run's level on this machine,
  which no single pair of runs can estimate; ``shapeprof calibrate`` measures it).
- Run sets (``set_ratio_test``): several separate runs a side; the difference of the sides'
  mean run levels, whose between-run part shrinks with the runs (``resolution.set_noise``).
- Interleaved runs (``paired_ratio_test``, ``shapeprof ci``): round i of both ran back to back,
  so the per-round ratios are free of the drift between rounds and of any between-run term.
- ``ratio_test``: the pooled test of files without rounds (bootstrap, Mann-Whitney); it treats
  the samples of one run as independent, which over-claims between runs (see the README).

The smallest detectable change is the slowdown that would be called significant with
probability ``power``; when it exceeds ``regression_ratio`` the cell is "not resolvable",
unless its whole interval lies beyond the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .resolution import (MAX_RUNS, Noise, fewest_to_resolve, paired_noise, pooled_round_sd,
                         rounds_to_resolve, set_noise)
from .thresholds import Thresholds

REGRESSION, WARNING, NOISE, IMPROVEMENT, SAME, NOT_COMPARABLE, NOT_RESOLVABLE = (
    "regression", "warning", "noise", "improvement", "same", "not comparable", "not resolvable")
NAN = float("nan")


@dataclass(frozen=True)
class RatioTest:
    ratio: float              # candidate / base (geometric mean of round medians, or medians)
    low: float                # interval of the ratio at ``confidence``
    high: float
    p_value: float            # two-sided
    verdict: str
    detectable: float = NAN   # smallest slowdown (ratio) detected with probability ``power``
    rounds: int = 0           # rounds per side the test used (0: pooled samples)
    rounds_needed: int | None = None   # per side to resolve the threshold (None: more cannot)
    se: float = NAN           # standard error of the log ratio (round-level tests)
    df: float = NAN           # its degrees of freedom (inf: normal)
    runs_needed: int | None = None     # separate runs: runs a side to resolve it (None: n/a or more)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def median_ratio_interval(base: np.ndarray, cand: np.ndarray, t: Thresholds) -> tuple[float, float]:
    """Percentile bootstrap of median(cand) / median(base), resampling each side (vectorised)."""
    rng = np.random.default_rng(t.seed)
    b = np.median(rng.choice(base, size=(t.bootstrap, base.size)), axis=1)
    c = np.median(rng.choice(cand, size=(t.bootstrap, cand.size)), axis=1)
    tail = (1.0 - t.confidence) / 2.0 * 100.0
    low, high = np.percentile(c / b, [tail, 100.0 - tail])
    return float(low), float(high)


def mann_whitney_p(base: np.ndarray, cand: np.ndarray) -> float:
    from scipy.stats import mannwhitneyu

    if np.array_equal(np.unique(base), np.unique(cand)) and np.unique(base).size == 1:
        return 1.0                                    # identical constants: no evidence at all
    return float(mannwhitneyu(cand, base, alternative="two-sided").pvalue)


def verdict(ratio: float, p_value: float, t: Thresholds, low: float = 0.0, high: float = math.inf) -> str:
    """The pooled test's verdict (files without rounds).

    A regression also needs the interval to exclude changes below the warning size; a warning
    or improvement needs it to exclude no change. Large changes failing these tests are noise.
    """
    significant = p_value < t.p_value
    if ratio >= t.regression_ratio and significant and low >= t.warning_ratio:
        return REGRESSION
    if ratio >= t.warning_ratio:
        return WARNING if significant and low > 1.0 else NOISE
    if ratio <= 1.0 / t.warning_ratio:
        return IMPROVEMENT if significant and high < 1.0 else NOISE
    return SAME


def round_verdict(ratio: float, low: float, high: float, p_value: float, detectable: float,
                  t: Thresholds) -> str:
    """The verdict of a round-level test, which knows what its data can resolve.

    Not resolvable (the smallest detectable change is above ``regression_ratio``): only an
    interval wholly beyond the threshold decides. Otherwise a significant slowdown of at least
    ``warning_ratio`` is a regression when its interval reaches the threshold, else a warning.
    """
    if low >= t.regression_ratio:
        return REGRESSION
    if high <= 1.0 / t.regression_ratio:
        return IMPROVEMENT
    if not detectable <= t.regression_ratio:
        return NOT_RESOLVABLE
    significant = p_value < t.p_value
    if ratio >= t.warning_ratio:
        if not significant:
            return NOISE
        return REGRESSION if high >= t.regression_ratio else WARNING
    if ratio <= 1.0 / t.warning_ratio:
        return IMPROVEMENT if significant else NOISE
    return SAME


def ratio_test(base_samples: object, cand_samples: object, t: Thresholds) -> RatioTest:
    """The pooled test; too few samples on a side gives "not comparable"."""
    base = np.asarray(base_samples, dtype=float)
    cand = np.asarray(cand_samples, dtype=float)
    if base.size < t.min_samples or cand.size < t.min_samples:
        return RatioTest(NAN, NAN, NAN, NAN, NOT_COMPARABLE)
    ratio = float(np.median(cand) / np.median(base))
    low, high = median_ratio_interval(base, cand, t)
    p = mann_whitney_p(base, cand)
    return RatioTest(ratio, low, high, p, verdict(ratio, p, t, low, high))


def paired_ratio_test(base_rounds: object, cand_rounds: object, t: Thresholds) -> RatioTest:
    """Round-by-round test: per-round median ratios, their t interval and one-sample t test on
    the logs; fewer than 3 rounds on a side gives "not comparable"."""
    base = np.asarray(base_rounds, dtype=float)
    cand = np.asarray(cand_rounds, dtype=float)
    if base.size != cand.size or base.size < 3:
        return RatioTest(NAN, NAN, NAN, NAN, NOT_COMPARABLE)
    logs = np.log(cand) - np.log(base)
    return _finish(paired_noise(logs), base.size, t, lambda n: paired_noise(logs, n))


def separate_ratio_test(base_rounds: object, cand_rounds: object, t: Thresholds,
                        within_sd: float | None = None) -> RatioTest:
    """Two runs measured at different times: the difference of the median log round values,
    with the within-run scale ``within_sd`` (default: this cell's own, see ``pooled_round_sd``)
    and the between-run component ``t.between_run_sd``; fewer than 3 rounds a side gives "not
    comparable". A run set of one run a side (``set_ratio_test``)."""
    return set_ratio_test([base_rounds], [cand_rounds], t, within_sd)


def set_ratio_test(base_runs: Sequence[object], cand_runs: Sequence[object], t: Thresholds,
                   within_sd: float | None = None, between_sd: float | None = None) -> RatioTest:
    """Run sets: each side's runs' round values (one sequence per run). The difference of the
    sides' mean log run levels (``set_noise``), with ``within_sd`` (default: pooled over these
    runs) and ``between_sd`` (default ``t.between_run_sd``); fewer than 3 rounds in any run
    gives "not comparable"."""
    base = [np.log(np.asarray(r, dtype=float)) for r in base_runs]
    cand = [np.log(np.asarray(r, dtype=float)) for r in cand_runs]
    rounds = min(r.size for r in (*base, *cand))
    if rounds < 3:
        return RatioTest(NAN, NAN, NAN, NAN, NOT_COMPARABLE)
    sd = pooled_round_sd([*base, *cand]) if within_sd is None else within_sd
    between = t.between_run_sd if between_sd is None else between_sd

    def noise(rounds: int | None = None, runs: int | None = None) -> Noise:
        return set_noise(base, cand, between, sd, rounds, runs)

    return _finish(noise(), rounds, t, lambda n: noise(rounds=n), lambda k: noise(runs=k))


def _finish(noise: Noise, rounds: int, t: Thresholds, at_rounds: Callable[[int], Noise],
            at_runs: Callable[[int], Noise] | None = None) -> RatioTest:
    """Interval, p, smallest detectable change, rounds (and runs a side) needed and verdict
    from one ``Noise``."""
    low, high = noise.interval(t.confidence)
    p = noise.p_value()
    detectable = noise.detectable(t.p_value, t.power)
    needed = rounds if detectable <= t.regression_ratio else rounds_to_resolve(at_rounds, rounds, t)
    runs = fewest_to_resolve(at_runs, 1, MAX_RUNS, t) if at_runs is not None else None
    ratio = math.exp(noise.mean)
    return RatioTest(ratio, low, high, p, round_verdict(ratio, low, high, p, detectable, t),
                     detectable, rounds, needed, noise.se, noise.df, runs)
