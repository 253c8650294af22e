"""Expected latency on the real data: measured cells weighted by how often the data hits them.

A ``LatencyModel`` predicts the (median) latency of a batch of ``n`` rows padded to length ``L`` from
the measured cells: a measured shape exactly, else linear in length at each measured batch size
(``stats.interpolate``), then linear in batch size between measured sizes (clamped outside them).
A ``LinearModel`` fits one least-squares line over length per batch size instead (decode steps).

Padding policies (``Policy``) turn the profiled length histogram into batches:

* ``max_length``: every row padded to the model's limit.
* ``data_max``: every row padded to the longest profiled row (one static shape for the data).
* ``pad:N``: every row padded (or cut) to N tokens.
* ``longest``: batches of B rows in data order, padded to their longest row. The histogram has
  no order, so rows are taken as independent draws: the batch's longest row L has
  ``P(L <= l) = F(l)^B`` and the expected batch latency is ``sum_l lat(B, l) * (F(l)^B - F(l-1)^B)``.
* ``sorted``: rows sorted by length, then batches of B padded to their longest row.
* ``buckets``: each row padded to the edge of its bucket; batches of B within a bucket.

Except ``longest`` the batches are planned exactly (``plan_batches``), including each bucket's
last, partial batch. Throughput counts sequences and real (non-padding) tokens per second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..errors import BenchError
from .stats import interpolate

DEFAULT_POLICIES = ("data_max", "pad:128", "longest", "sorted", "buckets")


@dataclass(frozen=True)
class Policy:
    name: str                     # max_length | data_max | pad | longest | sorted | buckets
    pad_to: int | None = None
    edges: tuple[int, ...] = ()

    @property
    def label(self) -> str:
        if self.name == "pad":
            return f"pad to {self.pad_to}"
        if self.name == "max_length":
            return f"pad to model max ({self.pad_to})"
        if self.name == "data_max":
            return f"pad to data max ({self.pad_to})"
        if self.name == "buckets":
            return f"buckets {','.join(map(str, self.edges))}"
        return {"longest": "pad to longest in batch", "sorted": "length-sorted"}[self.name]


def parse_policy(text: str, max_length: int, edges: Sequence[int] = (), data_max: int | None = None
                 ) -> Policy:
    """``max_length``, ``data_max``, ``pad:N``, ``longest``, ``sorted``, ``buckets`` or
    ``buckets:16,32,64``."""
    name, _, arg = text.partition(":")
    try:
        if name == "max_length":
            return Policy("max_length", max_length)
        if name == "data_max":
            return Policy("data_max", min(data_max or max_length, max_length))
        if name == "pad":
            return Policy("pad", min(int(arg), max_length))
        if name in ("longest", "sorted"):
            return Policy(name)
        if name == "buckets":
            chosen = tuple(sorted(int(e) for e in arg.split(","))) if arg else tuple(edges)
            if not chosen:
                raise BenchError("the buckets policy needs edges: give a profile or buckets:16,32,64")
            return Policy("buckets", edges=tuple(min(e, max_length) for e in chosen))
    except ValueError:
        pass
    raise BenchError(f"unknown padding policy {text!r}; use max_length, data_max, pad:N, longest, sorted, "
                     "buckets or buckets:E1,E2,...")


class LatencyModel:
    """Median batch latency (ms) at any (batch size, length) from measured cells: a curve over
    length per measured batch size."""

    measured_exactly = True     # a measured shape returns its own median

    def __init__(self, cells: Iterable[tuple[int, int, float]]) -> None:
        by_batch: dict[int, dict[int, float]] = {}
        for batch, length, ms in cells:
            by_batch.setdefault(int(batch), {})[int(length)] = float(ms)
        if not by_batch:
            raise BenchError("no measured cells to predict latency from")
        self.exact = {(b, n): ms for b, pts in by_batch.items() for n, ms in pts.items()}
        self.batches = sorted(by_batch)
        self.points = {b: sorted(v.items()) for b, v in by_batch.items()}

    @property
    def length_range(self) -> tuple[int, int]:
        lengths = [n for _, n in self.exact]
        return min(lengths), max(lengths)

    def at_batch(self, batch: int, lengths: np.ndarray) -> np.ndarray:
        """Latency of ``batch`` rows at each of ``lengths`` (measured shapes exactly)."""
        lengths = np.asarray(lengths)
        per_batch = np.array([self.curve(b, lengths) for b in self.batches])
        if len(self.batches) == 1:
            out = per_batch[0] * (batch / self.batches[0])    # one measured size: linear in rows
        else:
            out = np.array([np.interp(batch, self.batches, per_batch[:, i]) for i in range(len(lengths))])
        if self.measured_exactly:
            for i, n in enumerate(lengths):
                out[i] = self.exact.get((int(batch), int(n)), out[i])
        return out

    def curve(self, batch: int, lengths: np.ndarray) -> np.ndarray:
        """Latency at measured batch size ``batch`` over ``lengths``: linear between the points."""
        return interpolate([n for n, _ in self.points[batch]], [m for _, m in self.points[batch]], lengths)

    def __call__(self, batch: int, length: int) -> float:
        return float(self.at_batch(batch, np.array([length]))[0])


class LinearModel(LatencyModel):
    """As :class:`LatencyModel`, but a least-squares line over length per measured batch size
    (a decode step: a fixed cost plus attention over the past, linear in its length). Every
    cell weighs in, so one cell slowed by outside load moves the line a little, not a spike."""

    measured_exactly = False

    def __init__(self, cells: Iterable[tuple[int, int, float]]) -> None:
        super().__init__(cells)
        self.lines = {b: _line(pts) for b, pts in self.points.items()}

    def curve(self, batch: int, lengths: np.ndarray) -> np.ndarray:
        intercept, slope = self.lines[batch]
        return intercept + slope * np.asarray(lengths, dtype=np.float64)


def _line(points: Sequence[tuple[int, float]]) -> tuple[float, float]:
    """(intercept, slope >= 0) of the least-squares line through ``points``; a flat line at
    their mean when there is one point or the fit slopes down (cost never falls with length)."""
    x = np.array([n for n, _ in points], dtype=np.float64)
    y = np.array([m for _, m in points], dtype=np.float64)
    if len(x) > 1 and np.ptp(x) > 0:
        slope, intercept = np.polyfit(x, y, 1)
        if slope > 0:
            return float(intercept), float(slope)
    return float(y.mean()), 0.0


@dataclass(frozen=True)
class PolicyEstimate:
    """Expected cost of processing the profiled rows under one policy."""

    variant: str
    runtime: str
    policy: str
    label: str
    batch_size: int
    rows: int
    batches: float
    real_tokens: int
    padded_tokens: int
    total_s: float
    batch_latency_ms: float       # mean over batches
    sequences_per_s: float
    tokens_per_s: float           # real (non-padding) tokens
    outside_measured: float       # share of batches whose length lies outside the measured range

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def expand(counts: Mapping[int, int]) -> np.ndarray:
    """The lengths of every row a histogram describes, sorted."""
    keys = sorted(int(k) for k in counts)
    return np.repeat(np.array(keys, dtype=np.int64), [int(counts[k]) for k in keys])


def plan_batches(lengths: np.ndarray, policy: Policy, batch_size: int) -> list[tuple[np.ndarray, int]]:
    """``[(row indices, padded length)]`` for rows of ``lengths`` in their given order."""
    if policy.pad_to is not None:
        return [(idx, int(policy.pad_to)) for idx in _chunks(np.arange(len(lengths)), batch_size)]
    if policy.name == "longest":
        return [(idx, int(lengths[idx].max())) for idx in _chunks(np.arange(len(lengths)), batch_size)]
    if policy.name == "sorted":
        order = np.argsort(lengths, kind="stable")
        return [(idx, int(lengths[idx].max())) for idx in _chunks(order, batch_size)]
    edges = np.asarray(policy.edges, dtype=np.int64)
    which = np.minimum(np.searchsorted(edges, lengths, side="left"), len(edges) - 1)
    out = []
    for b, edge in enumerate(edges):
        out += [(idx, int(edge)) for idx in _chunks(np.flatnonzero(which == b), batch_size)]
    return out


def _chunks(indices: np.ndarray, size: int) -> list[np.ndarray]:
    return [indices[i:i + size] for i in range(0, len(indices), size)]


def predict_batches(model: LatencyModel, batches: Sequence[tuple[int, int]]) -> np.ndarray:
    """Predicted latency (ms) of each ``(rows, padded length)`` batch."""
    out = np.empty(len(batches))
    for size in {n for n, _ in batches}:
        pick = [i for i, (n, _) in enumerate(batches) if n == size]
        out[pick] = model.at_batch(size, np.array([batches[i][1] for i in pick]))
    return out


def estimate(model: LatencyModel, counts: Mapping[int, int], policy: Policy, batch_size: int,
             variant: str = "onnx", runtime: str = "onnxruntime") -> PolicyEstimate:
    """Expected total time and throughput for the histogram's rows under ``policy``."""
    lengths = expand(counts)
    lo, hi = model.length_range
    if policy.name == "longest":
        total_ms, n_batches, padded, outside = _longest(model, counts, batch_size)
        real = int(lengths.sum())
    else:
        kept = np.minimum(lengths, policy.pad_to) if policy.pad_to else lengths
        plan = plan_batches(kept, policy, batch_size)
        shapes = [(len(idx), pad) for idx, pad in plan]
        total_ms = float(predict_batches(model, shapes).sum())
        n_batches = float(len(plan))
        real = int(kept.sum())
        padded = int(sum(len(idx) * pad for idx, pad in plan)) - real
        outside = float(np.mean([not lo <= pad <= hi for _, pad in shapes]))
    rows = len(lengths)
    total_s = total_ms / 1000.0
    return PolicyEstimate(variant, runtime, _policy_key(policy), policy.label, batch_size, rows,
                          n_batches, real, padded, total_s, total_ms / max(n_batches, 1e-12),
                          rows / total_s, real / total_s, outside)


def _longest(model: LatencyModel, counts: Mapping[int, int], batch_size: int
             ) -> tuple[float, float, int, float]:
    """Data-order batches as independent draws: expected (total ms, batches, padded, outside)."""
    keys = np.array(sorted(int(k) for k in counts))
    weights = np.array([counts[k] for k in keys], dtype=np.float64)
    rows = weights.sum()
    cdf = np.cumsum(weights) / rows
    p_max = cdf ** batch_size - np.concatenate([[0.0], cdf[:-1]]) ** batch_size
    batch_ms = float((model.at_batch(batch_size, keys) * p_max).sum())
    n_batches = rows / batch_size
    mean_pad = float((keys * p_max).sum())
    padded = int(round(n_batches * batch_size * mean_pad - float((keys * weights).sum())))
    lo, hi = model.length_range
    outside = float(p_max[(keys < lo) | (keys > hi)].sum())
    return batch_ms * n_batches, n_batches, padded, outside


def _policy_key(policy: Policy) -> str:
    if policy.name == "pad":
        return f"pad:{policy.pad_to}"
    return policy.name
