"""Per-cell statistics: median ratio, its bootstrap interval, Mann-Whitney U, the verdict.

Runs timed in interleaved rounds (``shapeprof ci``) are compared round by round instead
(``paired_ratio_test``): each round's base and candidate blocks ran back to back, so the
ratio of their medians is free of the drift between rounds that pooled samples would count
as a difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .thresholds import Thresholds

REGRESSION, WARNING, NOISE, IMPROVEMENT, SAME, NOT_COMPARABLE = (
    "regression", "warning", "noise", "improvement", "same", "not comparable")


@dataclass(frozen=True)
class RatioTest:
    ratio: float              # median(candidate) / median(base); paired: geometric mean of round ratios
    low: float                # bootstrap interval of the ratio
    high: float
    p_value: float            # Mann-Whitney U, two-sided; paired: t test on the log ratios
    verdict: str


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
    """The cell's verdict from its ratio, p-value and bootstrap interval ``[low, high]``.

    Separate runs differ by more than their within-run spread suggests (machine load
    drifts), so a p-value alone over-claims. A regression also needs the interval to
    exclude changes below the warning size; a warning or improvement needs it to exclude
    no change. Large changes that fail these tests are noise: shown, never gated.
    """
    significant = p_value < t.p_value
    if ratio >= t.regression_ratio and significant and low >= t.warning_ratio:
        return REGRESSION
    if ratio >= t.warning_ratio:
        return WARNING if significant and low > 1.0 else NOISE
    if ratio <= 1.0 / t.warning_ratio:
        return IMPROVEMENT if significant and high < 1.0 else NOISE
    return SAME


def ratio_test(base_samples: object, cand_samples: object, t: Thresholds) -> RatioTest:
    """Everything about one cell; too few samples on a side gives "not comparable"."""
    base = np.asarray(base_samples, dtype=float)
    cand = np.asarray(cand_samples, dtype=float)
    if base.size < t.min_samples or cand.size < t.min_samples:
        return RatioTest(float("nan"), float("nan"), float("nan"), float("nan"), NOT_COMPARABLE)
    ratio = float(np.median(cand) / np.median(base))
    low, high = median_ratio_interval(base, cand, t)
    p = mann_whitney_p(base, cand)
    return RatioTest(ratio, low, high, p, verdict(ratio, p, t, low, high))


def paired_ratio_test(base_rounds: object, cand_rounds: object, t: Thresholds) -> RatioTest:
    """Round-by-round test: per-round median ratios, their t interval and one-sample t test
    on the logs; fewer than 3 rounds on a side gives "not comparable"."""
    from scipy.stats import ttest_1samp

    from ..bench.paired import paired_speedup

    base = np.asarray(base_rounds, dtype=float)
    cand = np.asarray(cand_rounds, dtype=float)
    if base.size != cand.size or base.size < 3:
        return RatioTest(float("nan"), float("nan"), float("nan"), float("nan"), NOT_COMPARABLE)
    got = paired_speedup(cand, base, t.confidence)          # exp(mean log(cand / base))
    logs = np.log(cand) - np.log(base)
    if np.ptp(logs) == 0.0:                                 # identical ratios every round
        p = 1.0 if logs[0] == 0.0 else 0.0
    else:
        p = float(ttest_1samp(logs, 0.0).pvalue)
    return RatioTest(got.ratio, got.low, got.high, p, verdict(got.ratio, p, t, got.low, got.high))
