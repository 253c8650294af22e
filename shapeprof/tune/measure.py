"""Sessions as a deployment opens them, and cells timed with variants interleaved.

``open_session`` builds what ``deploy.json`` describes (threads, denormals flushed, full graph
optimisation) or, for the baseline, onnxruntime's default session. ``time_cells`` times every
cell under every session back to back, in an order rotating per round, so a shared machine's
drift hits all variants alike; a cell's latency is the median of its samples over the rounds.
"""

from __future__ import annotations

import threading

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..bench.expected import LatencyModel
from ..bench.runner import SessionSettings, TimingPolicy, collect_samples, make_session
from ..errors import BenchError, TuneError

Shape = tuple[int, int]                 # (batch size, sequence length)
FAST = TimingPolicy(warmup=1, min_samples=2, min_time_s=0.0)


@dataclass(frozen=True)
class SessionSpec:
    """How a session is opened; ``threads`` None with ``default`` is onnxruntime's default."""

    threads: int = 1
    flush_denormals: bool = True
    default: bool = False

    def options(self) -> dict[str, Any]:
        """The session options as deploy.json records them."""
        if self.default:
            return {"defaults": True}
        entries = {"session.set_denormal_as_zero": "1"} if self.flush_denormals else {}
        return {"intra_op_num_threads": self.threads, "inter_op_num_threads": 1,
                "graph_optimization_level": "ORT_ENABLE_ALL", "config_entries": entries}


def open_session(path: str | Path, spec: SessionSpec) -> Any:
    """An onnxruntime CPU session opened as ``spec`` says (through ``bench.runner.make_session``;
    the default spec leaves threads at onnxruntime's 0, its own choice, and denormals as they are)."""
    settings = (SessionSettings(intra_op_threads=0, inter_op_threads=0, flush_denormals=False) if spec.default
                else SessionSettings(intra_op_threads=spec.threads, flush_denormals=spec.flush_denormals))
    try:
        return make_session(path, settings)
    except BenchError as e:
        raise TuneError(e.args[0]) from e


def time_cells(sessions: Mapping[str, Any], shapes: Sequence[Shape],
               feeds_of: Callable[[Shape], dict[str, np.ndarray]], rounds: int = 2,
               timing: TimingPolicy = FAST, tick: Callable[[str], None] | None = None
               ) -> dict[str, dict[Shape, float]]:
    """Median ms of every shape under every session, interleaved per cell and round."""
    samples: dict[str, dict[Shape, list[float]]] = {n: {s: [] for s in shapes} for n in sessions}
    names = list(sessions)
    for r in range(rounds):
        for shape in shapes:
            feeds = feeds_of(shape)
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                session = sessions[name]
                samples[name][shape] += collect_samples(lambda: session.run(None, feeds), timing)
            if tick is not None:
                tick(f"cell {shape[0]}x{shape[1]}, round {r + 1}")
    return {n: {s: float(np.median(v)) for s, v in per.items()} for n, per in samples.items()}


def time_parallel(sessions: Sequence[Any], shapes: Sequence[Shape],
                  feeds_of: Callable[[Shape], dict[str, np.ndarray]], rounds: int = 2,
                  timing: TimingPolicy = FAST, tick: Callable[[str], None] | None = None) -> dict[Shape, float]:
    """Median ms of a call at each shape while every session runs the same shape at once: the
    latency one of several parallel sessions sees, contention for cores and memory included."""
    return time_parallel_groups({"s": sessions}, shapes, feeds_of, rounds, timing, tick)["s"]


def time_parallel_groups(groups: Mapping[str, Sequence[Any]], shapes: Sequence[Shape],
                         feeds_of: Callable[[Shape], dict[str, np.ndarray]], rounds: int = 2,
                         timing: TimingPolicy = FAST, tick: Callable[[str], None] | None = None
                         ) -> dict[str, dict[Shape, float]]:
    """As :func:`time_parallel` for several groups of parallel sessions (one group per variant),
    interleaved per cell and round in a rotating order, as :func:`time_cells` does."""
    samples: dict[str, dict[Shape, list[float]]] = {n: {s: [] for s in shapes} for n in groups}
    names = list(groups)
    for r in range(rounds):
        for shape in shapes:
            feeds = feeds_of(shape)
            for name in names[r % len(names):] + names[:r % len(names)]:
                samples[name][shape] += _parallel_samples(groups[name], feeds, timing)
            if tick is not None:
                tick(f"cell {shape[0]}x{shape[1]} on {len(next(iter(groups.values())))} parallel sessions, "
                     f"round {r + 1}")
    return {n: {s: float(np.median(v)) for s, v in per.items()} for n, per in samples.items()}


def _parallel_samples(sessions: Sequence[Any], feeds: dict[str, np.ndarray], timing: TimingPolicy) -> list[float]:
    """Every session's samples of ``feeds``, the sessions started together on their own threads."""
    start = threading.Barrier(len(sessions))
    got: list[list[float]] = [[] for _ in sessions]

    def work(i: int, session: Any) -> None:
        start.wait()
        got[i] += collect_samples(lambda: session.run(None, feeds), timing)

    threads = [threading.Thread(target=work, args=(i, s)) for i, s in enumerate(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [x for g in got for x in g]


def latency_model(cells: Mapping[Shape, float]) -> LatencyModel:
    return LatencyModel((b, n, ms) for (b, n), ms in cells.items())
