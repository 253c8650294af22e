"""Latency statistics from raw timing samples.

Percentiles use numpy's default "linear" method; ``std`` is the sample standard
deviation (ddof=1, 0 for a single sample). All values are in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LatencyStats:
    """Summary of one cell's latency samples (ms)."""

    n: int
    mean: float
    std: float
    min: float
    p50: float
    p90: float
    p99: float
    max: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(samples_ms: Sequence[float]) -> LatencyStats:
    """Mean, std, min, p50/p90/p99 and max of ``samples_ms``."""
    x = np.asarray(samples_ms, dtype=np.float64)
    if x.size == 0:
        raise ValueError("no samples to summarize")
    p50, p90, p99 = np.percentile(x, [50, 90, 99])
    std = float(x.std(ddof=1)) if x.size > 1 else 0.0
    return LatencyStats(int(x.size), float(x.mean()), std, float(x.min()), float(p50), float(p90),
                        float(p99), float(x.max()))


def median_interval(samples_ms: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free interval of the median: the order statistics a binomial(n, 1/2) puts
    ``confidence`` between (min..max when there are too few samples for that confidence)."""
    from scipy.stats import binom

    x = np.sort(np.asarray(samples_ms, dtype=np.float64))
    if x.size == 0:
        raise ValueError("no samples to summarize")
    k = max(int(binom.ppf((1 - confidence) / 2, x.size, 0.5)), 1)
    return float(x[k - 1]), float(x[x.size - k])


def throughput(batch_size: int, tokens: int, latency_ms: float) -> tuple[float, float]:
    """(sequences/s, tokens/s) for one batch of ``batch_size`` rows and ``tokens`` tokens."""
    if latency_ms <= 0:
        return float("inf"), float("inf")
    per_s = 1000.0 / latency_ms
    return batch_size * per_s, tokens * per_s


def interpolate(lengths: Sequence[int], latencies_ms: Sequence[float], at: np.ndarray | Sequence[int]
                ) -> np.ndarray:
    """Latency at lengths ``at`` by linear interpolation between measured lengths.

    Below the shortest measured length the shortest's latency is used (latency does not drop
    much further); above the longest, the last segment is extrapolated linearly (at least flat).
    """
    xs = np.asarray(lengths, dtype=np.float64)
    ys = np.asarray(latencies_ms, dtype=np.float64)
    order = np.argsort(xs)
    xs, ys = xs[order], ys[order]
    at = np.asarray(at, dtype=np.float64)
    out = np.interp(at, xs, ys)
    if xs.size >= 2:
        slope = max(0.0, (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]))
        above = at > xs[-1]
        out[above] = ys[-1] + slope * (at[above] - xs[-1])
    return out


def relative_error(predicted: float, measured: float) -> float:
    """(predicted - measured) / measured."""
    return (predicted - measured) / measured if measured else float("nan")
