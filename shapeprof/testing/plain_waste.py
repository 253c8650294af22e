"""Plain bootstrap replicates of padding waste: the estimators the studentized intervals of
:mod:`shapeprof.profile.studentized` are checked against (tests, ``benchmarks/profile_intervals.py``).

Profiles no longer report these percentile intervals (see :mod:`shapeprof.profile.bootstrap`).

* Policies that pad each row on its own (``max_length``, ``fixed``) are linear in the counts:
  ``padded / real`` per replicate is two matrix products.
* In-batch policies (``longest``, ``multiple_of_8``) depend on row order, which a histogram does
  not hold: the replicate's waste is that of batches of ``b`` rows in random order,
  ``E[pad(max of b rows)] / E[length] - 1``, with ``P(max <= v) = F(v)^b``.
"""

from __future__ import annotations

import numpy as np

from ..profile.bootstrap import ratio


def per_row_waste(draws: np.ndarray, values: np.ndarray, pad_to: np.ndarray) -> np.ndarray:
    """Waste per replicate when a row of length ``values[i]`` is padded (or cut) to ``pad_to[i]``."""
    kept = np.minimum(values, pad_to)
    return ratio(draws @ (pad_to - kept).astype(np.float64), draws @ kept.astype(np.float64))


def fixed_targets(values: np.ndarray, pad_to: int) -> np.ndarray:
    return np.full(len(values), pad_to, dtype=np.int64)


def in_batch_waste(draws: np.ndarray, values: np.ndarray, batch_size: int, multiple: int = 1,
                   cap: int | None = None) -> np.ndarray:
    """Waste per replicate of batches of ``batch_size`` random rows padded to their longest
    (rounded up to ``multiple``, capped at ``cap``)."""
    draws = np.asarray(draws, dtype=np.float64)
    rows = draws.sum(axis=1, keepdims=True)
    below = np.cumsum(draws, axis=1) / rows                  # F(v) per replicate
    below_prev = np.concatenate([np.zeros_like(below[:, :1]), below[:, :-1]], axis=1)
    p_max = below ** batch_size - below_prev ** batch_size    # P(max of b rows == v)
    target = -(-values // multiple) * multiple
    if cap is not None:
        target = np.minimum(target, cap)
    mean = draws @ values.astype(np.float64) / rows[:, 0]
    return np.maximum(ratio(p_max @ target.astype(np.float64) - mean, mean), 0.0)  # no float dust < 0
