"""Task metrics as bootstrap statistics: each maps row indices (resamples, n) to values.

Spearman is the Pearson correlation of average ranks (ties share their mean rank), as
``scipy.stats.spearmanr``; F1 is of the positive class 1, as ``sklearn.metrics.f1_score``.
"""

from __future__ import annotations

import numpy as np

from .bootstrap import Stat


def _rank_rows(values: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(values, axis=1)


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denom = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(axis=1) / denom


def spearman(x: np.ndarray, y: np.ndarray, scale: float = 100.0) -> Stat:
    """Spearman correlation of x and y (times ``scale``) on the rows drawn."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return lambda idx: scale * _pearson_rows(_rank_rows(x[idx]), _rank_rows(y[idx]))


def mean_of(values: np.ndarray) -> Stat:
    """Mean of per-row values (accuracy, agreement: 0/1 per row)."""
    values = np.asarray(values, dtype=np.float64)
    return lambda idx: values[idx].mean(axis=1)


def accuracy(pred: np.ndarray, gold: np.ndarray) -> Stat:
    return mean_of(np.asarray(pred) == np.asarray(gold))


def f1(pred: np.ndarray, gold: np.ndarray, positive: int = 1) -> Stat:
    """F1 of class ``positive``: 2 TP / (2 TP + FP + FN)."""
    p, g = np.asarray(pred) == positive, np.asarray(gold) == positive
    tp, fp, fn = (p & g).astype(np.int64), (p & ~g).astype(np.int64), (~p & g).astype(np.int64)

    def stat(idx: np.ndarray) -> np.ndarray:
        t = tp[idx].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return 2 * t / (2 * t + fp[idx].sum(axis=1) + fn[idx].sum(axis=1))
    return stat


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> Stat:
    """sum(numerator) / sum(denominator) over the rows drawn (token agreement)."""
    num, den = np.asarray(numerator, dtype=np.float64), np.asarray(denominator, dtype=np.float64)
    return lambda idx: num[idx].sum(axis=1) / np.maximum(den[idx].sum(axis=1), 1.0)


def perplexity(nll: np.ndarray, tokens: np.ndarray) -> Stat:
    """exp(total negative log-likelihood / total predicted tokens) over the rows drawn."""
    per_token = ratio(nll, tokens)
    return lambda idx: np.exp(per_token(idx))
