"""Serving a plan: its batches through one session, or several sessions in parallel threads.

onnxruntime releases the GIL inside ``run``, so sessions on threads of one process compute in
parallel. Feeds are built before the clock starts (as a server's tokenizer runs ahead of the
model); a batch's latency is the wall time of its ``run``, and the pass's wall time covers every
batch from the first start to the last end. Outputs go back to their rows' places, so a served
list comes back in request order.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..bench.replay import pad_batch
from .batching import Plan

Feeds = dict[str, np.ndarray]


@dataclass(frozen=True)
class Pass:
    """One timed pass over a plan."""

    wall_s: float
    batch_ms: tuple[float, ...]       # per batch, in plan order

    def sequences_per_s(self, rows: int) -> float:
        return rows / max(self.wall_s, 1e-12)


def build_feeds(ids: Mapping[str, Sequence[Sequence[int]]], batches: Plan, pad_id: int,
                complete: Callable[[Feeds], Feeds]) -> list[Feeds]:
    """Padded feeds of every batch (outside any timing)."""
    return [complete(pad_batch(dict(ids), idx, pad, pad_id)) for idx, pad in batches]


def run_pass(sessions: Sequence[Any], feeds: Sequence[Feeds], keep: bool = False
             ) -> tuple[Pass, list[Any]]:
    """Serve every batch; with several sessions each pulls the next batch from a shared queue.
    Returns the pass and, with ``keep``, each batch's first output."""
    state = _Serving(feeds, keep)
    start = time.perf_counter()
    if len(sessions) == 1:
        state.work(sessions[0])
    else:
        threads = [threading.Thread(target=state.work, args=(s,), daemon=True) for s in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    wall = time.perf_counter() - start
    if state.errors:
        raise state.errors[0]
    return Pass(wall, tuple(state.times)), state.outputs


class _Serving:
    """The batches left to serve, and what serving them gave (per batch, in plan order)."""

    def __init__(self, feeds: Sequence[Feeds], keep: bool) -> None:
        self.feeds, self.keep = feeds, keep
        self.jobs: queue.Queue[int] = queue.Queue()
        for i in range(len(feeds)):
            self.jobs.put(i)
        self.times = [0.0] * len(feeds)
        self.outputs: list[Any] = [None] * len(feeds)
        self.errors: list[BaseException] = []

    def work(self, session: Any) -> None:
        while not self.errors:
            try:
                i = self.jobs.get_nowait()
            except queue.Empty:
                return
            try:
                t0 = time.perf_counter()
                out = session.run(None, self.feeds[i])
                self.times[i] = (time.perf_counter() - t0) * 1000.0
            except BaseException as e:      # re-raised in the calling thread
                self.errors.append(e)
                return
            if self.keep:
                self.outputs[i] = out[0]


def restore(batches: Plan, outputs: Sequence[np.ndarray], rows: int) -> list[np.ndarray]:
    """Each row's output (its batch's slice, padding cut off by the caller) in request order."""
    out: list[Any] = [None] * rows
    for (idx, _), batch_out in zip(batches, outputs):
        for j, r in enumerate(idx):
            out[int(r)] = batch_out[j]
    missing = [i for i, o in enumerate(out) if o is None]
    if missing:
        raise ValueError(f"rows {missing[:5]} were never served")
    return out
