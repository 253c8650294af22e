"""Speedups paired by round, with a confidence interval.

The machine's speed drifts by tens of percent over tens of seconds (see
benchmarks/machine_drift.py), so two runtimes timed at different moments differ before their
code does. Every round times each cell under every runtime back to back; the ratio of their
block medians within one round compares them in the same machine state. The speedup is the
geometric mean of those per-round ratios and its interval a Student t interval on their logs:
the drift between rounds drops out, and the width says how far the verdict can be trusted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95


@dataclass(frozen=True)
class PairedSpeedup:
    """``reference latency / latency``: above 1 the runtime is faster than the reference."""

    ratio: float
    low: float          # interval bounds; nan with fewer than 2 rounds
    high: float
    rounds: int

    @property
    def verdict(self) -> str:
        """faster / slower when the whole interval is on one side of 1, else tie."""
        if self.low > 1.0:
            return "faster"
        if self.high < 1.0:
            return "slower"
        return "tie"


def round_medians(samples_ms: Sequence[float], round_sizes: Sequence[int],
                  quantile: float = 0.5) -> np.ndarray | None:
    """Median (or ``quantile``) of each round's block of samples; None without a valid split."""
    if not round_sizes or sum(round_sizes) != len(samples_ms) or min(round_sizes) < 1:
        return None
    edges = np.cumsum([0, *round_sizes])
    x = np.asarray(samples_ms, dtype=np.float64)
    return np.array([np.quantile(x[a:b], quantile) for a, b in zip(edges[:-1], edges[1:])])


def mean_and_se(logs: np.ndarray, rounds: int | None = None) -> tuple[float, float]:
    """Mean of per-round log ratios and its standard error (``rounds``: as if there were that
    many, with the same spread); the one computation behind paired speedups and CI's test."""
    n = rounds or logs.size
    return float(logs.mean()), float(logs.std(ddof=1)) / math.sqrt(n)


def paired_speedup(reference: np.ndarray, runtime: np.ndarray, confidence: float = CONFIDENCE
                   ) -> PairedSpeedup:
    """Geometric-mean ratio ``reference / runtime`` over paired rounds, with a t interval."""
    if reference.shape != runtime.shape or reference.size == 0:
        raise ValueError("paired speedup needs the same number of rounds on both sides")
    logs = np.log(reference) - np.log(runtime)
    n = logs.size
    if n < 2:
        return PairedSpeedup(math.exp(float(logs.mean())), math.nan, math.nan, n)
    from scipy.stats import t

    mean, se = mean_and_se(logs)
    half = float(t.ppf(0.5 + confidence / 2, n - 1)) * se
    return PairedSpeedup(math.exp(mean), math.exp(mean - half), math.exp(mean + half), n)
