"""The proof: the winner and the baseline served on held-out rows (never used to choose), side by
side, round by round, against what the latency model predicted for exactly those batches.

Each round serves both, in an order alternating per round, and re-times both candidates' cells;
so besides the search's prediction (what the recommendation promised; drift of a shared machine
since the search included) each round's own cells predict that round's passes (drift-free). The
winner's speedup is the geometric mean of the per-round ratios of pass times, with a 95% interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..bench.paired import paired_speedup
from ..bench.runner import PeakMemory
from ..bench.stats import summarize
from .candidates import Candidate, predict
from .context import TuneContext
from .measure import latency_model, time_cells, time_parallel
from .search import grid_lengths, open_sessions, serving
from .serve import run_pass

FLAG_ERROR = 0.10      # a replay missing its prediction by more than this is flagged


@dataclass(frozen=True)
class Replay:
    """One candidate served on the held-out rows: predicted against measured."""

    label: str
    rows: int
    batches: int
    predicted_sequences_per_s: float
    measured_sequences_per_s: float
    error: float                          # predicted / measured - 1
    predicted_p50_ms: float
    predicted_p99_ms: float
    measured_p50_ms: float
    measured_p99_ms: float
    p99_error: float
    round_error: float | None             # each round's cells against that round's passes
    round_error_low: float | None
    round_error_high: float | None
    passes_s: tuple[float, ...]
    memory_mib: float | None

    @property
    def flagged(self) -> bool:
        return abs(self.error) > FLAG_ERROR

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passes_s": list(self.passes_s), "flagged": self.flagged}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Replay:
        return cls(**{**{k: d[k] for k in cls.__dataclass_fields__}, "passes_s": tuple(d["passes_s"])})


@dataclass
class _Side:
    candidate: Candidate
    model: Any                      # the search's latency model of the candidate's threads
    batches: list[tuple[np.ndarray, int]]
    feeds: list[dict[str, np.ndarray]]
    sessions: list[Any]
    memory_mib: float | None
    walls: list[float]
    batch_ms: list[tuple[float, ...]]
    round_cells: list[dict[tuple[int, int], float]]


def prove(ctx: TuneContext, winner: Candidate, baseline: Candidate, tick: Callable[[str], None]
          ) -> tuple[Replay, Replay, dict[str, float]]:
    """(winner replay, baseline replay, speedup {ratio, low, high, rounds})."""
    sides = [_side(ctx, baseline, ctx.baseline_cells), _side(ctx, winner, _cells_of(ctx, winner))]
    lengths = grid_lengths(ctx.search_lengths)
    for r in range(ctx.options.proof_rounds):
        for side in (sides if r % 2 == 0 else sides[::-1]):
            done, _ = run_pass(side.sessions, side.feeds)
            side.walls.append(done.wall_s)
            side.batch_ms.append(done.batch_ms)
            shapes = [(side.candidate.batch_size, n) for n in lengths]
            side.round_cells.append(_round_cells(ctx, side, shapes))
        tick(f"proof round {r + 1}/{ctx.options.proof_rounds}")
    base, win = (_replay(ctx, s) for s in sides)
    got = paired_speedup(np.array(sides[0].walls), np.array(sides[1].walls))
    return win, base, {"ratio": got.ratio, "low": got.low, "high": got.high, "rounds": got.rounds}


def _round_cells(ctx: TuneContext, side: _Side, shapes: list[tuple[int, int]]) -> dict[tuple[int, int], float]:
    """This round's cells, timed the way the candidate serves (parallel sessions run at once)."""
    if len(side.sessions) > 1:
        return time_parallel(side.sessions, shapes, ctx.cell_feeds, 1)
    return time_cells({"s": side.sessions[0]}, shapes, ctx.cell_feeds, 1)["s"]


def _cells_of(ctx: TuneContext, candidate: Candidate) -> dict[tuple[int, int], float]:
    return ctx.cells[(candidate.variant, candidate.layout)]


def _side(ctx: TuneContext, candidate: Candidate, cells: dict[tuple[int, int], float]) -> _Side:
    batches, feeds = serving(ctx, candidate, ctx.held_out)
    with PeakMemory() as mem:
        sessions = open_sessions(ctx, candidate)
        run_pass(sessions, feeds[:3])             # warm-up
    return _Side(candidate, latency_model(cells), batches, feeds, sessions, mem.growth_mib, [], [], [])


def _replay(ctx: TuneContext, side: _Side) -> Replay:
    lengths = ctx.lengths[ctx.held_out]
    predicted = predict(side.candidate, side.model, lengths)
    measured = len(lengths) / float(np.median(side.walls))
    per_batch = np.median(np.array(side.batch_ms), axis=0)
    per_round = np.array([predict(side.candidate, latency_model(c), lengths).sequences_per_s
                          for c in side.round_cells])
    got = paired_speedup(len(lengths) / np.array(side.walls), per_round)   # measured/predicted inverted
    stats = summarize(per_batch)
    p50, p99 = stats.p50, stats.p99
    return Replay(side.candidate.label, len(lengths), len(side.batches), predicted.sequences_per_s,
                  measured, predicted.sequences_per_s / measured - 1.0, predicted.p50_ms, predicted.p99_ms,
                  p50, p99, predicted.p99_ms / p99 - 1.0, _inv(got.ratio), _inv(got.high), _inv(got.low),
                  tuple(side.walls), side.memory_mib)


def _inv(ratio: float) -> float | None:
    """measured/predicted ratio -> the error predicted/measured - 1 (None when undefined)."""
    return None if not np.isfinite(ratio) else 1.0 / ratio - 1.0
