"""How sure a profile is: 95% intervals when it comes from a sample, "exact" when it does not.

Everything comes from the length histograms (value -> rows), never from the rows:

* percentiles: distribution-free order-statistic bounds (:mod:`.intervals`);
* padding waste per policy: a seeded studentized bootstrap of the histogram with delta-method
  standard errors (:mod:`.studentized`), simultaneous over the policies;
* the chosen buckets' waste: split halves of the histogram (:mod:`.bootstrap`);
* ``rows_for_p99``: the fewest rows whose p99 interval would span at most 2 (+-1 token), read
  on the current histogram.

A profile of every row is exact (status ``"exact"``, no intervals). A profile written before
intervals existed (schema 1) migrates to status ``"unknown"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .bootstrap import (BOOTSTRAP_REPS, BOOTSTRAP_SEED, BUCKET_REPS, MIN_ROWS, percentile_bounds, resample,
                        split_half_bucket_waste)
from .intervals import CONFIDENCE, Interval, percentile_interval, rows_for_width
from .padding import PaddingWaste
from .stats import PERCENTILES, as_arrays
from .studentized import batching_sd, in_batch_moments, per_row_moments, studentized_bounds

SAMPLE, EXACT, UNKNOWN = "sample", "exact", "unknown"
IN_BATCH_MULTIPLE = {"longest": 1, "multiple_of_8": 8}
PERCENTILE_METHOD = ("distribution-free order-statistic bounds: the sample's order statistics at "
                     "ranks from the hypergeometric law of rows drawn without replacement from the "
                     "data (binomial when the data's size is unknown); conservative on integer sizes")
WASTE_METHOD = ("studentized bootstrap (bootstrap-t) of the ratio padded/real tokens with delta-method "
                "standard errors: {reps} multinomial redraws of the sample's histogram (seed {seed}), "
                "finite-population correction; in-batch policies as batches of random rows, plus the "
                "variance of batching the full data in an order unrelated to length; simultaneous 95% "
                "over the policies (Bonferroni, conservative for each one); none below " + f"{MIN_ROWS} rows")
BUCKET_METHOD = ("{reps} random halves of the sample (seed {seed}): buckets fitted on one half, "
                 "waste measured on the other (conservative)")
NOTES = {EXACT: "every row was profiled: the values are exact, no interval",
         UNKNOWN: "written before shapeprof recorded intervals (profile schema 1): unknown"}


@dataclass(frozen=True)
class Uncertainty:
    """The intervals of a sampled profile (or why it has none)."""

    status: str                                             # "sample", "exact" or "unknown"
    rows: int = 0                                           # rows the profile saw
    population: int | None = None                           # rows in the data, when known
    percentiles: Mapping[str, Mapping[str, Interval]] = field(default_factory=dict)  # axis -> p50 ->
    waste: Mapping[str, Interval] = field(default_factory=dict)   # padding label -> waste interval
    buckets: Interval | None = None                         # the chosen buckets' waste
    rows_for_p99: Mapping[str, int | None] = field(default_factory=dict)   # axis -> rows for +-1
    confidence: float = CONFIDENCE
    reps: int = BOOTSTRAP_REPS
    seed: int = BOOTSTRAP_SEED

    @property
    def sampled(self) -> bool:
        return self.status == SAMPLE

    def percentile(self, axis: str, name: str) -> Interval | None:
        return self.percentiles.get(axis, {}).get(name)

    def rows_needed(self, axis: str) -> str:
        """How many rows would bring ``axis``'s p99 interval within +-1, in words."""
        rows = self.rows_for_p99.get(axis)
        if rows is None:
            return "no sample size gets there on this histogram"
        if self.population is not None and rows >= self.population:
            return f"all {self.population:,} rows (exact values)"
        p99 = self.percentile(axis, "p99")
        if p99 is None or p99.low is None or p99.high is None:   # the tail is not seen yet
            return f"at least {rows:,} rows ({self.rows:,} cannot bound p99 yet)"
        return f"about {rows:,} rows" + (" (this sample already does)" if rows <= self.rows else "")

    @property
    def waste_method(self) -> str:
        return WASTE_METHOD.format(reps=self.reps, seed=self.seed)

    @property
    def buckets_method(self) -> str:
        return BUCKET_METHOD.format(reps=BUCKET_REPS, seed=self.seed)

    def to_dict(self) -> dict[str, Any]:
        if self.status == UNKNOWN:
            return {"status": UNKNOWN, "note": NOTES[UNKNOWN]}
        if self.status == EXACT:
            return {"status": EXACT, "note": NOTES[EXACT], "rows": self.rows,
                    "population_rows": self.population}
        return {"status": self.status, "confidence": self.confidence, "rows": self.rows,
                "population_rows": self.population, "percentile_method": PERCENTILE_METHOD,
                "waste_method": self.waste_method,
                "buckets_method": self.buckets_method,
                "bootstrap_reps": self.reps,
                "bootstrap_seed": self.seed,
                "percentiles": {a: {k: i.to_list() for k, i in p.items()} for a, p in self.percentiles.items()},
                "padding_waste": {k: i.to_list() for k, i in self.waste.items()},
                "buckets_waste": None if self.buckets is None else self.buckets.to_list(),
                "rows_for_p99_within_1": dict(self.rows_for_p99)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Uncertainty:
        status = (data or {}).get("status", UNKNOWN)
        if data is None or status not in (SAMPLE, EXACT):
            return cls(UNKNOWN)
        if status == EXACT:
            return cls(EXACT, int(data.get("rows", 0)), data.get("population_rows"))
        buckets = data.get("buckets_waste")
        return cls(SAMPLE, int(data["rows"]), data.get("population_rows"),
                   {a: {k: Interval.from_list(v) for k, v in p.items()}
                    for a, p in data.get("percentiles", {}).items()},
                   {k: Interval.from_list(v) for k, v in data.get("padding_waste", {}).items()},
                   None if buckets is None else Interval.from_list(buckets),
                   {a: None if r is None else int(r) for a, r in data.get("rows_for_p99_within_1", {}).items()},
                   float(data.get("confidence", CONFIDENCE)), int(data.get("bootstrap_reps", BOOTSTRAP_REPS)),
                   int(data.get("bootstrap_seed", BOOTSTRAP_SEED)))


def is_sample(rows: int, population: int | None) -> bool:
    """A profile is a sample unless it saw a known number of rows that is all of them."""
    return population is None or rows < population


def axes_uncertainty(axes: Mapping[str, Mapping[int, int]], population: int | None,
                     percentiles: Sequence[int] = PERCENTILES) -> Uncertainty:
    """Percentile intervals and rows-for-p99 per axis (image/audio profiles: no padding)."""
    rows = max((sum(c.values()) for c in axes.values()), default=0)
    if not is_sample(rows, population):
        return Uncertainty(EXACT, rows, population)
    intervals, needed = {}, {}
    for name, counts in axes.items():
        values, weights = as_arrays(counts)
        intervals[name] = {f"p{q}": percentile_interval(values, weights, q, population) for q in percentiles}
        needed[name] = rows_for_width(values, weights, 99, population=population)
    return Uncertainty(SAMPLE, rows, population, intervals, rows_for_p99=needed)


def profile_uncertainty(axes: Mapping[str, Mapping[int, int]], population: int | None,
                        counts: Mapping[int, int], padding: Sequence[PaddingWaste],
                        buckets: int, max_length: int | None,
                        reps: int = BOOTSTRAP_REPS, seed: int = BOOTSTRAP_SEED) -> Uncertainty:
    """A text profile's intervals: per-axis percentiles, then the padding waste per policy
    and the ``buckets`` chosen buckets' waste, bootstrapped from ``counts`` (length -> rows)."""
    base = axes_uncertainty(axes, population)
    if not base.sampled or base.rows < MIN_ROWS:
        return base
    values, weights = as_arrays(counts)
    draws = resample(weights, reps, seed)
    bucket_interval = percentile_bounds(split_half_bucket_waste(values, weights, buckets, BUCKET_REPS, seed))
    level = joint_confidence(padding)
    waste = {w.label: interval for w in padding
             if (interval := waste_interval(w, draws, values, weights, max_length, population, level))
             is not None}
    waste.update({w.label: bucket_interval for w in padding if w.policy == "buckets"})
    return Uncertainty(SAMPLE, base.rows, population, base.percentiles, waste, bucket_interval,
                       base.rows_for_p99, reps=reps, seed=seed)


def has_interval(w: PaddingWaste) -> bool:
    return w.pad_to is not None or (w.policy in IN_BATCH_MULTIPLE and bool(w.batch_size))


def joint_confidence(padding: Sequence[PaddingWaste], confidence: float = CONFIDENCE) -> float:
    """Each policy's level so that all the waste intervals hold at once (Bonferroni)."""
    return 1.0 - (1.0 - confidence) / max(1, sum(has_interval(w) for w in padding))


def waste_interval(w: PaddingWaste, draws: np.ndarray, values: np.ndarray, counts: np.ndarray,
                   max_length: int | None, population: int | None,
                   confidence: float = CONFIDENCE) -> Interval | None:
    """The studentized bootstrap interval of one padding policy (None for one it does not know),
    from the sample histogram ``counts`` over ``values`` and its redraws ``draws``."""
    n = int(counts.sum())
    scale = float(np.sqrt(1.0 - n / population)) if population else 1.0
    extra = 0.0
    if w.pad_to is not None:
        theta, se = per_row_moments(counts[None, :], values, w.pad_to)
        boot, boot_se = per_row_moments(draws, values, w.pad_to)
    elif w.policy in IN_BATCH_MULTIPLE and w.batch_size:
        args = (w.batch_size, IN_BATCH_MULTIPLE[w.policy], max_length)
        theta, se = in_batch_moments(counts[None, :], values, *args)
        boot, boot_se = in_batch_moments(draws, values, *args)
        extra = batching_sd(counts, values, *args, population or n)   # unknown size: >= n rows
    else:
        return None
    return studentized_bounds(float(theta[0]), float(se[0]), boot, boot_se, scale, extra, confidence)


def how_sure(u: Uncertainty, unit: str = "rows", within: str = "+-1 token", waste: bool = True) -> str:
    """Exact, unknown, or the sample's 95% intervals: their methods (the padding waste's too when
    ``waste``) and how many ``unit`` bring each axis's p99 ``within``."""
    if not u.sampled:
        return f"how sure: {NOTES.get(u.status, u.status)}"
    of = f" of {u.population:,}" if u.population is not None else " (data size unknown)"
    lines = [f"how sure: a sample of {u.rows:,}{of} {unit}; 95% intervals",
             f"  percentiles: {PERCENTILE_METHOD}"]
    if waste:
        lines += [f"  padding waste: {u.waste_method}", f"  buckets' waste: {u.buckets_method}"]
    lines += [f"  {axis} p99 within {within}: {u.rows_needed(axis)}" for axis in u.rows_for_p99]
    return "\n".join(lines)

