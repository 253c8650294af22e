"""Batching policies a server can run, as plans over a stream of requests in arrival order.

* ``longest``: batches of B requests in arrival order, padded to their longest row.
* ``buckets``: each request joins the queue of its length bucket (the profile's edges); a queue
  sends a batch when it holds B requests, every queue is flushed at the end of the stream. A
  batch is padded to its bucket's edge (to its longest row above the last edge).
* ``window``: W requests are gathered, sorted by length (stable), cut into batches of B, each
  padded to its longest row. A server can sort a window, never the whole dataset.

A plan is ``[(row indices, padded length)]`` in the order the batches are sent; serving the plan
and writing each batch's outputs back at its indices restores the request order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..bench.expected import Policy, plan_batches

POLICIES = ("longest", "buckets", "window")

Plan = list[tuple[np.ndarray, int]]
_LONGEST, _SORTED = Policy("longest"), Policy("sorted")      # the bench's plans, reused


@dataclass(frozen=True)
class Batching:
    """One batching policy with its parameters (``window`` rows, bucket ``edges``)."""

    policy: str
    window: int = 0
    edges: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"unknown batching policy {self.policy!r}; choose from {', '.join(POLICIES)}")
        if self.policy == "window" and self.window < 1:
            raise ValueError("the window policy needs a window of at least 1 request")
        if self.policy == "buckets" and not self.edges:
            raise ValueError("the buckets policy needs bucket edges")

    @property
    def label(self) -> str:
        if self.policy == "window":
            return f"sorted in windows of {self.window}"
        if self.policy == "buckets":
            return f"buckets {','.join(map(str, self.edges))}"
        return "pad to longest (arrival order)"

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "window": self.window, "bucket_edges": list(self.edges)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Batching:
        return cls(str(d["policy"]), int(d.get("window") or 0),
                   tuple(int(e) for e in d.get("bucket_edges") or ()))


def plan(lengths: Sequence[int] | np.ndarray, batching: Batching, batch_size: int) -> Plan:
    """The batches of ``lengths`` (requests in arrival order) under ``batching``."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    if batching.policy == "longest":
        return plan_batches(lengths, _LONGEST, batch_size)
    if batching.policy == "window":
        return _windows(lengths, batching.window, batch_size)
    return _buckets(lengths, batching.edges, batch_size)


def _windows(lengths: np.ndarray, window: int, batch_size: int) -> Plan:
    """The bench's length-sorted plan within each window, its row indices shifted to the window's."""
    out: Plan = []
    for start in range(0, len(lengths), window):
        part = lengths[start:start + window]
        out += [(idx + start, pad) for idx, pad in plan_batches(part, _SORTED, batch_size)]
    return out


def _buckets(lengths: np.ndarray, edges: Sequence[int], batch_size: int) -> Plan:
    edges_arr = np.asarray(sorted(edges), dtype=np.int64)
    which = np.minimum(np.searchsorted(edges_arr, lengths, side="left"), len(edges_arr) - 1)
    queues: dict[int, list[int]] = {}
    out: Plan = []
    for i, b in enumerate(which):
        queue = queues.setdefault(int(b), [])
        queue.append(i)
        if len(queue) == batch_size:
            out.append(_bucket_batch(queue, lengths, int(edges_arr[b])))
            queues[int(b)] = []
    for b in sorted(queues):
        if queues[b]:
            out.append(_bucket_batch(queues[b], lengths, int(edges_arr[b])))
    return out


def _bucket_batch(rows: list[int], lengths: np.ndarray, edge: int) -> tuple[np.ndarray, int]:
    idx = np.array(rows, dtype=np.int64)
    return idx, max(edge, int(lengths[idx].max()))


def shapes(batches: Plan) -> list[tuple[int, int]]:
    """``(rows, padded length)`` of every batch."""
    return [(len(idx), pad) for idx, pad in batches]


def padded_tokens(batches: Plan, lengths: np.ndarray) -> int:
    """Padding positions the plan computes on (beyond the real tokens)."""
    return int(sum(len(idx) * pad for idx, pad in batches) - int(np.asarray(lengths).sum()))
