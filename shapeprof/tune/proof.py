"""The proof: the winner and the baseline served on held-out rows (never used to choose), side by
side, round by round, against what the search's latency model predicts for exactly those batches.

A prediction made at search time and a replay made minutes later differ by the drift of a shared
machine (tens of percent over tens of seconds) before the model is wrong at all. So each round
re-times the cells the candidate's latency model prices those batches with (the same cells the
search priced it with: its batch sizes at the grid lengths), right beside the replay pass, and the
round's prediction comes from them. The order alternates per round: baseline cells, baseline pass,
winner pass, winner cells, then the reverse; so the two passes sit side by side (the speedup) and
each pass beside its cells (the replay error), each before and after equally often.

Cells time one shape over and over; a server runs a new shape every call, from Python, with its
sessions sharing the cores unevenly, and that costs a candidate a steady share the cells never see
(8-14% for batch 8 on two single-thread sessions). So before the held-out rounds each candidate is
served on the *search* rows, beside its re-timed cells, for a few rounds: the geometric mean of
measured / predicted there is its serving factor, and every held-out prediction is the cells'
prediction times that factor. The held-out rows stay unseen until the replay.

Error: predicted / measured - 1, the geometric mean of the rounds' ratios with a 95% t interval;
the winner is flagged when it misses by more than 10%. The error of the cells alone is kept too. The search-time prediction and its error
(drift since the search included) are kept beside it. Speedup: the geometric mean of the rounds'
ratios of pass times, with its interval.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..bench.paired import paired_speedup
from ..bench.runner import PeakMemory, TimingPolicy
from ..bench.stats import summarize
from ..schema import known_fields
from .candidates import Candidate, Prediction, predict
from .context import TuneContext
from .measure import Shape, latency_model, time_cells, time_parallel
from .search import open_sessions, serving
from .serve import run_pass

FLAG_ERROR = 0.10      # a replay missing its prediction by more than this is flagged
FACTOR_ROUNDS = 4      # rounds on the search rows that measure each candidate's serving factor
ROUND_TIMING = TimingPolicy(warmup=1, min_samples=3, min_time_s=0.0)     # each cell, each round


@dataclass(frozen=True)
class Replay:
    """One candidate served on the held-out rows: predicted (cells re-timed beside every pass)
    against measured, and the search-time prediction."""

    label: str
    rows: int
    batches: int
    predicted_sequences_per_s: float      # measured x (1 + error): the rounds' prediction
    measured_sequences_per_s: float       # rows / median pass
    error: float                          # predicted / measured - 1, geometric mean over rounds
    error_low: float | None               # its 95% interval (None below 2 rounds)
    error_high: float | None
    search_predicted_sequences_per_s: float   # the search's cells (minutes earlier)
    search_error: float                       # drift since the search included
    predicted_p50_ms: float               # per batch, median over the rounds' predictions
    predicted_p99_ms: float
    measured_p50_ms: float                # per batch (median over rounds), then percentiles
    measured_p99_ms: float
    p99_error: float
    passes_s: tuple[float, ...]
    predicted_s: tuple[float, ...] = ()   # each round's predicted pass time
    memory_mib: float | None = None
    serving_factor: float = 1.0           # measured / cells-predicted time on the search rows
    cells_error: float | None = None      # the error of the cells alone (no serving factor)

    @property
    def flagged(self) -> bool:
        return abs(self.error) > FLAG_ERROR

    @property
    def settled(self) -> bool:
        """Whether the error's interval lies on one side of the flag (within, or beyond, 10%)."""
        if self.error_low is None or self.error_high is None:
            return False
        inside = -FLAG_ERROR <= self.error_low and self.error_high <= FLAG_ERROR
        return inside or self.error_low > FLAG_ERROR or self.error_high < -FLAG_ERROR

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passes_s": list(self.passes_s), "predicted_s": list(self.predicted_s),
                "flagged": self.flagged}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Replay:
        return cls(**{**known_fields(cls, d), "passes_s": tuple(d["passes_s"]),
                      "predicted_s": tuple(d.get("predicted_s") or ())})


@dataclass
class _Side:
    candidate: Candidate
    search_model: Any                     # the search's latency model of the candidate
    rows: np.ndarray                      # the rows served (held-out, or search for the factor)
    shapes: list[Shape]                   # the cells that model prices those rows' batches with
    feeds: list[dict[str, np.ndarray]]
    sessions: list[Any]
    memory_mib: float | None
    walls: list[float] = field(default_factory=list)
    batch_ms: list[tuple[float, ...]] = field(default_factory=list)
    predicted: list[Prediction] = field(default_factory=list)


def prove(ctx: TuneContext, winner: Candidate, baseline: Candidate, tick: Callable[[str], None]
          ) -> tuple[Replay, Replay, dict[str, float]]:
    """(winner replay, baseline replay, speedup {ratio, low, high, rounds})."""
    cells = [ctx.baseline_cells, _cells_of(ctx, winner)]
    tick("serving factors on the search rows")
    factors = [serving_factor(ctx, c, m) for c, m in zip((baseline, winner), cells)]
    sides = [_side(ctx, baseline, cells[0], ctx.held_out), _side(ctx, winner, cells[1], ctx.held_out)]
    _rounds(ctx, sides, ctx.options.proof_rounds, tick)
    base, win = (_replay(ctx, s, f) for s, f in zip(sides, factors))
    got = paired_speedup(np.array(sides[0].walls), np.array(sides[1].walls))
    return win, base, {"ratio": got.ratio, "low": got.low, "high": got.high, "rounds": got.rounds}


def serving_factor(ctx: TuneContext, candidate: Candidate, cells: Mapping[Shape, float]) -> float:
    """Measured / cells-predicted pass time of ``candidate`` serving the search rows, each pass
    beside its re-timed cells: the geometric mean over ``FACTOR_ROUNDS`` rounds."""
    side = _side(ctx, candidate, cells, ctx.search)
    for _ in range(FACTOR_ROUNDS):
        _cells_round(ctx, side)
        _pass_round(side)
    return float(np.exp(np.mean(np.log(np.array(side.walls) / _predicted_s(side)))))


def _rounds(ctx: TuneContext, sides: list[_Side], rounds: int, tick: Callable[[str], None]) -> None:
    for r in range(rounds):
        first, second = sides if r % 2 == 0 else sides[::-1]
        _cells_round(ctx, first)
        _pass_round(first)
        _pass_round(second)
        _cells_round(ctx, second)
        tick(f"proof round {r + 1}/{rounds}")


def pricing_shapes(cells: Iterable[Shape], row_counts: Iterable[int]) -> list[Shape]:
    """The measured cells a ``LatencyModel`` of ``cells`` prices batches of ``row_counts`` rows
    with: every length at the nearest measured batch sizes below and above each count (two sizes
    at least when there are two, so a count outside them is clamped as the full model clamps it)."""
    cells = list(cells)
    sizes = sorted({b for b, _ in cells})
    used: set[int] = set()
    for k in set(row_counts):
        below, above = [b for b in sizes if b <= k], [b for b in sizes if b >= k]
        used |= {below[-1]} if below and below[-1] == k else set(below[-1:] + above[:1])
    if len(used) == 1 and len(sizes) > 1:
        i = sizes.index(used.pop())
        used = {sizes[i], sizes[i + 1] if i + 1 < len(sizes) else sizes[i - 1]}
    return sorted(s for s in cells if s[0] in used)


def _side(ctx: TuneContext, candidate: Candidate, cells: Mapping[Shape, float], rows: np.ndarray) -> _Side:
    batches, feeds = serving(ctx, candidate, rows)
    with PeakMemory() as mem:
        sessions = open_sessions(ctx, candidate)
        run_pass(sessions, feeds[:3])             # warm-up
    shapes = pricing_shapes(cells, (len(idx) for idx, _ in batches))
    return _Side(candidate, latency_model(cells), rows, shapes, feeds, sessions, mem.growth_mib)


def _cells_of(ctx: TuneContext, candidate: Candidate) -> dict[Shape, float]:
    return ctx.cells[(candidate.variant, candidate.layout)]


def _pass_round(side: _Side) -> None:
    done, _ = run_pass(side.sessions, side.feeds)
    side.walls.append(done.wall_s)
    side.batch_ms.append(done.batch_ms)


def _cells_round(ctx: TuneContext, side: _Side) -> None:
    """The round's cells, timed the way the candidate serves (parallel sessions run at once), and
    the prediction they give for the held-out rows."""
    if len(side.sessions) > 1:
        cells = time_parallel(side.sessions, side.shapes, ctx.cell_feeds, 1, ROUND_TIMING)
    else:
        cells = time_cells({"s": side.sessions[0]}, side.shapes, ctx.cell_feeds, 1, ROUND_TIMING)["s"]
    side.predicted.append(predict(side.candidate, latency_model(cells), ctx.lengths[side.rows]))


def _predicted_s(side: _Side) -> np.ndarray:
    return np.array([len(side.rows) / p.sequences_per_s for p in side.predicted])


def _replay(ctx: TuneContext, side: _Side, factor: float) -> Replay:
    """The replay's figures; every prediction (pass time, per-batch p50/p99) is the cells' times
    ``factor``, the candidate's serving factor from the search rows."""
    rows = len(side.rows)
    searched = predict(side.candidate, side.search_model, ctx.lengths[side.rows])
    walls = np.array(side.walls)
    cells_s = _predicted_s(side)
    predicted_s = cells_s * factor
    measured = rows / float(np.median(walls))
    got = paired_speedup(walls, predicted_s)               # measured time / predicted time
    error, low, high = got.ratio - 1.0, _minus_one(got.low), _minus_one(got.high)
    stats = summarize(np.median(np.array(side.batch_ms), axis=0))
    p50 = factor * float(np.median([p.p50_ms for p in side.predicted]))
    p99 = factor * float(np.median([p.p99_ms for p in side.predicted]))
    searched_s = searched.sequences_per_s / factor
    return Replay(side.candidate.label, rows, len(side.feeds), measured * (1.0 + error), measured, error, low,
                  high, searched_s, searched_s / measured - 1.0, p50, p99,
                  stats.p50, stats.p99, p99 / stats.p99 - 1.0, tuple(side.walls), tuple(predicted_s.tolist()),
                  side.memory_mib, factor, paired_speedup(walls, cells_s).ratio - 1.0)


def _minus_one(ratio: float) -> float | None:
    return None if not np.isfinite(ratio) else ratio - 1.0
