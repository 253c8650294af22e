"""Seeded percentile bootstrap over rows, plain and paired.

Method: ``RESAMPLES`` (1000) resamples of the n scored rows, drawn with replacement by
``numpy.random.default_rng(seed)``; a metric's 95% interval is the 2.5th and 97.5th percentiles
of the statistic over the resamples, its value the statistic on all rows. A drop is paired: the
reference and the variant are scored on the same resampled rows, and the interval is that of
the difference, so noise shared by both (which rows were drawn) cancels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .results import Metric

RESAMPLES = 1000
CONFIDENCE = 0.95
CHUNK = 100          # resamples evaluated at once (bounds memory on big rows)
METHOD = (f"95% percentile bootstrap, {RESAMPLES} seeded resamples of the rows; "
          "drops paired (same resampled rows for the reference and the variant)")

# A statistic maps row indices, shape (resamples, n), to one value per resample.
Stat = Callable[[np.ndarray], np.ndarray]


def resample(n: int, seed: int = 0, reps: int = RESAMPLES) -> np.ndarray:
    """Row indices of ``reps`` bootstrap resamples of ``n`` rows, shape (reps, n)."""
    if n < 1:
        raise ValueError("cannot bootstrap zero rows")
    return np.random.default_rng(seed).integers(0, n, size=(reps, n), dtype=np.int32)


def evaluate(stat: Stat, idx: np.ndarray) -> np.ndarray:
    """The statistic on every resample, in chunks."""
    return np.concatenate([np.asarray(stat(idx[i:i + CHUNK]), dtype=np.float64)
                           for i in range(0, len(idx), CHUNK)])


def estimate(name: str, stat: Stat, idx: np.ndarray, higher_is_better: bool = True) -> Metric:
    """The statistic on all rows with its percentile interval over the resamples ``idx``."""
    n = idx.shape[1]
    value = float(stat(np.arange(n)[None])[0])
    boot = evaluate(stat, idx)
    boot = boot[np.isfinite(boot)]
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = (np.percentile(boot, [tail, 100 - tail]) if len(boot) else (np.nan, np.nan))
    return Metric(name, value, float(low), float(high), n, higher_is_better)


def paired_drop(name: str, reference: Stat, variant: Stat, idx: np.ndarray,
                higher_is_better: bool = True) -> Metric:
    """How much worse the variant is than the reference (positive = worse), paired resamples.

    For a metric where higher is better that is reference minus variant; otherwise variant
    minus reference. The drop itself is better when lower.
    """
    sign = 1.0 if higher_is_better else -1.0

    def diff(rows: np.ndarray) -> np.ndarray:
        return sign * (np.asarray(reference(rows), dtype=np.float64) - np.asarray(variant(rows), dtype=np.float64))

    return estimate(f"{name} drop", diff, idx, higher_is_better=False)
