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
(8-14% for batch 8 on two single-thread sessions), and a few calls per cell per round are noisy.
So every round also serves the *search* rows, beside the held-out pass and priced by the same
re-timed cells: measured / predicted there is the round's serving factor, and the round's held-out
prediction is its cells' prediction times that factor (the cells' noise common to both row sets
cancels). The held-out rows are used for nothing but the replay.

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
from .search import open_sessions, search_serving, serving
from .serve import run_pass

FLAG_ERROR = 0.10      # a replay missing its prediction by more than this is flagged
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
    shapes: list[Shape]                   # the cells that model prices both row sets' batches with
    feeds: list[dict[str, np.ndarray]]    # the held-out rows' batches
    search_feeds: list[dict[str, np.ndarray]]   # the search rows' batches (the serving factor)
    sessions: list[Any]
    memory_mib: float | None
    walls: list[float] = field(default_factory=list)
    search_walls: list[float] = field(default_factory=list)
    batch_ms: list[tuple[float, ...]] = field(default_factory=list)
    predicted: list[Prediction] = field(default_factory=list)
    search_predicted: list[Prediction] = field(default_factory=list)


def prove(ctx: TuneContext, winner: Candidate, baseline: Candidate, tick: Callable[[str], None]
          ) -> tuple[Replay, Replay, dict[str, float]]:
    """(winner replay, baseline replay, speedup {ratio, low, high, rounds})."""
    ctx.served = {c: s for c, s in ctx.served.items() if c == winner}    # no other is served again
    sides = [_side(ctx, baseline, ctx.baseline_cells), _side(ctx, winner, _cells_of(ctx, winner))]
    for r in range(ctx.options.proof_rounds):
        first, second = sides if r % 2 == 0 else sides[::-1]
        _cells_round(ctx, first)
        _pass_round(first, r)
        _pass_round(second, r)
        _cells_round(ctx, second)
        tick(f"proof round {r + 1}/{ctx.options.proof_rounds}")
    base, win = (_replay(ctx, s) for s in sides)
    got = paired_speedup(np.array(sides[0].walls), np.array(sides[1].walls))
    return win, base, {"ratio": got.ratio, "low": got.low, "high": got.high, "rounds": got.rounds}


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


def _side(ctx: TuneContext, candidate: Candidate, cells: Mapping[Shape, float]) -> _Side:
    batches, feeds = serving(ctx, candidate, ctx.held_out)
    search_batches, search_feeds = search_serving(ctx, candidate)
    with PeakMemory() as mem:
        sessions = open_sessions(ctx, candidate)
        run_pass(sessions, feeds[:3])             # warm-up
    counts = [len(idx) for idx, _ in (*batches, *search_batches)]
    return _Side(candidate, latency_model(cells), pricing_shapes(cells, counts), feeds, search_feeds,
                 sessions, mem.growth_mib)


def _cells_of(ctx: TuneContext, candidate: Candidate) -> dict[Shape, float]:
    return ctx.cells[(candidate.variant, candidate.layout)]


def _pass_round(side: _Side, r: int) -> None:
    """The held-out pass and the search rows' pass, in alternating order."""
    for held_out in ((True, False) if r % 2 == 0 else (False, True)):
        done, _ = run_pass(side.sessions, side.feeds if held_out else side.search_feeds)
        if held_out:
            side.walls.append(done.wall_s)
            side.batch_ms.append(done.batch_ms)
        else:
            side.search_walls.append(done.wall_s)


def _cells_round(ctx: TuneContext, side: _Side) -> None:
    """The round's cells, timed the way the candidate serves (parallel sessions run at once), and
    the predictions they give for the held-out rows and for the search rows."""
    if len(side.sessions) > 1:
        cells = time_parallel(side.sessions, side.shapes, ctx.cell_feeds, 1, ROUND_TIMING)
    else:
        cells = time_cells({"s": side.sessions[0]}, side.shapes, ctx.cell_feeds, 1, ROUND_TIMING)["s"]
    model = latency_model(cells)
    side.predicted.append(predict(side.candidate, model, ctx.lengths[ctx.held_out]))
    side.search_predicted.append(predict(side.candidate, model, ctx.lengths[ctx.search]))


def _seconds(predictions: list[Prediction], rows: int) -> np.ndarray:
    return np.array([rows / p.sequences_per_s for p in predictions])


def _replay(ctx: TuneContext, side: _Side) -> Replay:
    """The replay's figures. Each round's prediction is its cells' prediction times that round's
    serving factor (search rows: measured / cells-predicted); p50/p99 take the factors' geometric
    mean."""
    rows = len(ctx.held_out)
    searched = predict(side.candidate, side.search_model, ctx.lengths[ctx.held_out])
    walls = np.array(side.walls)
    cells_s = _seconds(side.predicted, rows)
    factors = np.array(side.search_walls) / _seconds(side.search_predicted, len(ctx.search))
    factor = float(np.exp(np.mean(np.log(factors))))
    predicted_s = cells_s * factors
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
