"""Studentized (bootstrap-t) 95% intervals for padding waste, with delta-method standard errors.

Padding waste is a ratio of means: padded tokens per real token. For every policy the waste is a
smooth functional ``theta(F)`` of the length distribution ``F``, and its influence function
``IF(x)`` gives a delta-method standard error ``sqrt(sum f IF^2 / n)``:

* per-row policies (``max_length``, ``fixed``): ``theta = E[a] / E[k]`` with ``a`` the padding and
  ``k`` the kept tokens of a row; ``IF(x) = (a(x) - theta k(x)) / E[k]``;
* in-batch policies (batches of ``b`` random rows padded to their longest, rounded to a multiple,
  capped): ``theta = E[t(max of b rows)] / E[x] - 1``; the numerator's influence is
  ``b (g(x) - E[t(M_b)])`` with ``g(x) = E[t(max(x, M_{b-1}))]``.

The interval studentizes each multinomial replicate by its own standard error, so it follows the
skew of a ratio (``1 / mean length``) that a plain percentile bootstrap misses; the sampling error
is scaled by the finite-population correction ``sqrt(1 - n / N)`` when the data's size is known.

The full data's in-batch waste is measured in data order: one random batching of its rows (if the
order is unrelated to length), which is itself random around ``theta``. That batching variance,
``Var(h - projection of h on single rows) / (b N E[x]^2)`` with ``h`` a batch's padded tokens, is
added to the sampling variance (without the projection, a batch of one row would count the sum of
all rows, which no order changes, as noise).
"""

from __future__ import annotations

import numpy as np

from .bootstrap import ratio
from .intervals import CONFIDENCE, Interval


def per_row_moments(draws: np.ndarray, values: np.ndarray, pad_to: int) -> tuple[np.ndarray, np.ndarray]:
    """(waste, delta-method standard error) per row of ``draws`` (histograms over ``values``)
    when every row is padded or cut to ``pad_to``."""
    f = ratio(draws, draws.sum(axis=1, keepdims=True)).astype(np.float64)
    kept = np.minimum(values, pad_to).astype(np.float64)
    pad = pad_to - kept
    mean_kept = f @ kept
    theta = ratio(f @ pad, mean_kept)
    influence = ratio(pad[None, :] - theta[:, None] * kept[None, :], mean_kept[:, None])
    return theta, _standard_error(f, influence, draws)


def _standard_error(f: np.ndarray, influence: np.ndarray, draws: np.ndarray) -> np.ndarray:
    n = draws.sum(axis=1)
    centred = influence - (f * influence).sum(axis=1, keepdims=True)
    return np.sqrt(ratio((f * centred ** 2).sum(axis=1), n))


def batch_parts(f: np.ndarray, values: np.ndarray, batch_size: int, multiple: int,
                cap: int | None) -> dict[str, np.ndarray]:
    """The pieces of the in-batch waste per row of ``f`` (length frequencies summing to 1)."""
    target = (-(-values // multiple) * multiple).astype(np.float64)
    if cap is not None:
        target = np.minimum(target, cap)
    below = np.cumsum(f, axis=1)
    rest = below ** (batch_size - 1)                                   # F^(b-1): one power only
    p_max = np.diff(rest * below, axis=1, prepend=0.0)                 # P(max of b rows == v)
    p_rest = np.diff(rest, axis=1, prepend=0.0 if batch_size > 1 else 1.0)  # max of the other b-1
    above = (p_rest * target).sum(axis=1, keepdims=True) - np.cumsum(p_rest * target, axis=1)
    g = target * rest + above                                          # E[t(max(x, M_{b-1}))]
    return {"target": target, "p_max": p_max, "g": g, "top": p_max @ target,
            "mean": f @ values.astype(np.float64), "top2": p_max @ target ** 2}


def in_batch_moments(draws: np.ndarray, values: np.ndarray, batch_size: int, multiple: int = 1,
                     cap: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(waste, delta-method standard error) per row of ``draws`` for batches of ``batch_size``
    random rows padded to their longest (rounded up to ``multiple``, capped at ``cap``)."""
    f = ratio(draws, draws.sum(axis=1, keepdims=True)).astype(np.float64)
    p = batch_parts(f, values, batch_size, multiple, cap)
    mean, top = p["mean"][:, None], p["top"][:, None]
    theta = ratio(p["top"], p["mean"]) - 1.0
    influence = ratio(batch_size * (p["g"] - top) - (theta[:, None] + 1.0) * (values - mean), mean)
    return np.where(p["mean"] > 0, theta, 0.0), _standard_error(f, influence, draws)


def batching_sd(counts: np.ndarray, values: np.ndarray, batch_size: int, multiple: int,
                cap: int | None, population: int) -> float:
    """Standard deviation of the waste of ``population`` rows in random order around its
    expectation: the part of a batch's padding its single rows do not explain, over all batches."""
    f = (counts / counts.sum()).astype(np.float64)[None, :]
    p = batch_parts(f, values, batch_size, multiple, cap)
    x, b, mean = values.astype(np.float64), batch_size, float(p["mean"][0])
    if mean <= 0 or batch_size < 2:
        return 0.0
    var_x = float(f[0] @ (x - mean) ** 2)
    var_t = float(p["top2"][0] - p["top"][0] ** 2)
    cov_tx = float(f[0] @ (x * p["g"][0])) - float(p["top"][0]) * mean   # Cov(t(M_b), x_1)
    var_h = b * b * var_t + b * var_x - 2 * b * b * cov_tx             # h = b t(M_b) - sum of x
    phi = b * (p["g"][0] - p["top"][0]) - (x - mean)                   # h's projection on a row
    residual = max(var_h - b * float(f[0] @ phi ** 2), 0.0)
    return float(np.sqrt(residual / (b * population)) / mean)


def studentized_bounds(theta: float, se: float, boot_theta: np.ndarray, boot_se: np.ndarray,
                       scale: float = 1.0, extra_sd: float = 0.0,
                       confidence: float = CONFIDENCE) -> Interval:
    """Bootstrap-t interval: ``theta - q * SE`` at the replicates' studentized quantiles ``q``, the
    sampling SE times ``scale`` (the finite-population correction) and ``extra_sd`` added in
    quadrature. Replicates with no spread (SE 0) are left out; none at all: the normal quantiles."""
    alpha = (1.0 - confidence) / 2.0
    ok = boot_se > 0
    if se <= 0 or ok.sum() < 20:
        from scipy.stats import norm

        low_q, high_q = norm.ppf([alpha, 1.0 - alpha])
    else:
        low_q, high_q = np.quantile((boot_theta[ok] - theta) / boot_se[ok], [alpha, 1.0 - alpha])
    total = float(np.hypot(se * scale, extra_sd))
    return Interval(max(0.0, theta - float(high_q) * total), max(0.0, theta - float(low_q) * total))
