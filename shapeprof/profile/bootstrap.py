"""95% intervals for padding waste by a percentile bootstrap of the length histogram.

Profiles use ``resample`` (the redraws :mod:`.studentized` studentizes) and the buckets' split
halves below; the plain per-row and in-batch percentile replicates, which profiles no longer
report, live in :mod:`shapeprof.testing.plain_waste`, as the estimators the tests and
``benchmarks/profile_intervals.py`` check the studentized intervals against.

Each replicate redraws the sample's ``n`` rows from its own histogram (one multinomial draw of
the counts, seeded, all replicates at once in numpy) and recomputes the waste; the interval is
the 2.5th and 97.5th percentiles of the replicates. Resampling with replacement ignores the
finite-population correction, so for a sample drawn without replacement it errs on the wide side.
Below ``MIN_ROWS`` rows a bootstrap says little (one row gives a zero-width interval): no interval.

* The chosen buckets' waste is not a smooth function of the counts (the edges are fitted to the
  sample, which flatters them): ``BUCKET_REPS`` random halves of the sample each fit ``k``
  buckets (the DP of :mod:`.buckets`, vectorised) and measure their waste on the other half;
  the interval is the 2.5th-97.5th percentiles of those. Measured on SST-2 it covers the waste
  of the sample's edges on all the rows; the plain bootstrap (refit on a redraw, measured on
  the sample) did not (under 50% at 1,000 rows).
"""

from __future__ import annotations

import numpy as np

from .intervals import CONFIDENCE, Interval

BOOTSTRAP_REPS = 1000
BOOTSTRAP_SEED = 0
BUCKET_REPS = 200         # the buckets' split halves cost one DP each: fewer of them
MIN_ROWS = 10


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0 (no real tokens: no waste, as PaddingWaste.waste says)."""
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den > 0)


def resample(counts: np.ndarray, reps: int = BOOTSTRAP_REPS, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """``reps`` multinomial redraws of the histogram's rows: shape (reps, len(counts))."""
    n = int(counts.sum())
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, counts / n, size=reps)


def percentile_bounds(samples: np.ndarray, confidence: float = CONFIDENCE) -> Interval:
    """The plain percentile interval of bootstrap replicates."""
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(samples, [alpha, 1.0 - alpha])
    return Interval(float(low), float(high))


CHUNK_CELLS = 4_000_000   # DP cells (replicates x (lengths + 1)^2) held at once


def split_half_bucket_waste(values: np.ndarray, counts: np.ndarray, k: int,
                            reps: int = BUCKET_REPS, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """Per random half of the sample: the waste, on the other half, of the ``k`` optimal buckets
    fitted to this half -- fresh rows the edges were not chosen on, as the rest of the data is
    (rows longer than the top edge cut to it). Half the rows: wide on purpose."""
    rng = np.random.default_rng(seed)
    halves = rng.multivariate_hypergeometric(counts, int(counts.sum()) // 2, size=reps)
    step = max(1, CHUNK_CELLS // (len(values) + 1) ** 2)
    parts = [edge_waste(fitted_edges(halves[s:s + step], values, k), values,
                        counts[None, :] - halves[s:s + step]) for s in range(0, reps, step)]
    return np.concatenate(parts)


def fitted_edges(draws: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """The optimal ``k``-bucket edges of each replicate (the DP of :mod:`.buckets`, vectorised
    over replicates); shape (replicates, k), 0 where a replicate has fewer buckets."""
    reps, m = draws.shape
    k = max(1, min(k, m))
    zero = np.zeros((reps, 1))
    c = np.concatenate([zero, np.cumsum(draws, axis=1)], axis=1)
    s = np.concatenate([zero, np.cumsum(draws * values, axis=1)], axis=1)
    last = np.maximum.accumulate(np.where(draws > 0, np.arange(m), -1), axis=1)
    top = np.concatenate([zero, np.where(last >= 0, values[np.maximum(last, 0)], 0)], axis=1)
    # cost[r, j, i]: rows of lengths v[i..j-1] padded to their longest (i last: contiguous argmin)
    cost = top[:, :, None] * (c[:, :, None] - c[:, None, :]) - (s[:, :, None] - s[:, None, :])
    cost = np.where(np.arange(m + 1)[None, :] < np.arange(m + 1)[:, None], cost, np.inf)
    best = np.full((reps, m + 1), np.inf)
    best[:, 0] = 0.0
    choices = []
    for _ in range(k):                                 # group [i, j) closes the last bucket
        total = best[:, None, :] + cost
        choice = np.argmin(total, axis=2)
        best = np.take_along_axis(total, choice[:, :, None], axis=2)[:, :, 0]
        choices.append(choice)
    edges, j, rows = np.zeros((reps, k)), np.full(reps, m), np.arange(reps)
    for n, choice in enumerate(reversed(choices)):
        alive = j > 0
        edges[:, n] = np.where(alive, top[rows, j], 0)
        j = np.where(alive, choice[rows, j], 0)
    return edges


def edge_waste(edges: np.ndarray, values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Waste of each row of ``edges`` on ``counts`` (one histogram, or one per row of edges);
    rows above the top edge are cut to it."""
    fits = edges[:, None, :] >= values[None, :, None]
    target = np.where(fits, edges[:, None, :], np.inf).min(axis=2)
    target = np.where(np.isinf(target), edges.max(axis=1)[:, None], target)
    kept = np.minimum(values, target)
    return ratio(((target - kept) * counts).sum(axis=1), (kept * counts).sum(axis=1))
