"""The search: time every accurate variant on a coarse grid, prune what cannot win, grow the
batch size as far as the SLO allows, then measure the thread layouts of the best candidate.

Every latency comes from cells timed with the variants interleaved (``measure.time_cells``) and
priced on the search rows' own lengths in arrival order (``candidates.predict``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..bench.replay import take
from ..bench.runner import PeakMemory
from .batching import Batching, Plan, plan
from .candidates import (Candidate, Layout, Prediction, batchings, grow_more, predict, prune_variants,
                         rank)
from .context import TuneContext
from .measure import SessionSpec, Shape, latency_model, open_session, time_cells, time_parallel
from .options import BASELINE_BATCH
from .serve import Feeds, build_feeds, run_pass

GRID_QUANTILES = (0, 25, 50, 90, 100)
LAYOUT_ROUNDS = 2
Tick = Callable[[str], None]


def grid_lengths(lengths: np.ndarray) -> list[int]:
    """The lengths cells are timed at: quantiles of the real lengths, shortest and longest included."""
    return sorted({int(np.ceil(np.percentile(lengths, q))) for q in GRID_QUANTILES})


def baseline_candidate() -> Candidate:
    """The usual way: exported float32 graph, default session, data-order batches of 32, one session."""
    return Candidate("onnx", Batching("longest"), BASELINE_BATCH, Layout(1, 0), default_session=True)


def spec_of(candidate: Candidate) -> SessionSpec:
    if candidate.default_session:
        return SessionSpec(default=True)
    return SessionSpec(threads=candidate.layout.threads)


def serving(ctx: TuneContext, candidate: Candidate, rows: np.ndarray) -> tuple[Plan, list[Feeds]]:
    """The candidate's batches over ``rows`` and their feeds (built outside any timing)."""
    batches = plan(ctx.lengths[rows], candidate.batching, candidate.batch_size)
    return batches, build_feeds(take(ctx.ids, rows), batches, ctx.pad_id, ctx.complete)


def open_sessions(ctx: TuneContext, candidate: Candidate) -> list[Any]:
    """The candidate's sessions, one per session of its layout."""
    return [open_session(ctx.paths[candidate.variant], spec_of(candidate))
            for _ in range(candidate.layout.sessions)]


def coarse(ctx: TuneContext, variants: Sequence[str], tick: Tick) -> list[str]:
    """Batch 32 at the grid lengths for every variant and the baseline; the variants kept."""
    shapes = [(BASELINE_BATCH, n) for n in grid_lengths(ctx.search_lengths)]
    sessions = {"(baseline)": open_session(ctx.paths["onnx"], SessionSpec(default=True))}
    for v in variants:
        with PeakMemory() as mem:
            sessions[v] = open_session(ctx.paths[v], SessionSpec(threads=ctx.cores))
            sessions[v].run(None, ctx.cell_feeds(shapes[-1]))
        ctx.memory_mib[v] = float(mem.growth_mib or 0.0)
    medians = time_cells(sessions, shapes, ctx.cell_feeds, ctx.options.rounds, tick=tick)
    ctx.baseline_cells = medians.pop("(baseline)")
    for v, cells in medians.items():
        ctx.cells[(v, Layout(1, ctx.cores))] = dict(cells)
    best = {v: max(p.sequences_per_s for _, p in score_batch(ctx, v, BASELINE_BATCH)) for v in variants}
    kept, ctx.pruned = prune_variants(best)
    return kept


def score_batch(ctx: TuneContext, variant: str, batch: int, layout: Layout | None = None
                ) -> list[tuple[Candidate, Prediction]]:
    """Every batching policy of ``variant`` at ``batch``, predicted on the search rows."""
    layout = layout or Layout(1, ctx.cores)
    model = latency_model(ctx.cells[(variant, layout)])
    edges = ctx.view.bucket_edges()
    return [(c, predict(c, model, ctx.search_lengths)) for c in
            (Candidate(variant, b, batch, layout) for b in batchings(edges, ctx.options.window))]


def grow(ctx: TuneContext, variants: Sequence[str], tick: Tick) -> None:
    """Time the profile's smaller batch sizes, then double from 32 while it pays and the SLO holds."""
    lengths = grid_lengths(ctx.search_lengths)
    small = sorted(b for b in set(ctx.view.batch_sizes) if b < BASELINE_BATCH)
    _time_batches(ctx, variants, small, lengths, tick)
    growing, batch = list(variants), BASELINE_BATCH
    while growing and batch * 2 <= min(ctx.options.max_batch, len(ctx.search)):
        batch *= 2
        _time_batches(ctx, growing, [batch], lengths, tick)
        growing = [v for v in growing if grow_more(_best(ctx, v, batch // 2), _best(ctx, v, batch),
                                                   ctx.options.slo)]
    ctx.scored = [cp for (v, layout), cells in ctx.cells.items() if layout == Layout(1, ctx.cores)
                  for b in sorted({s[0] for s in cells}) for cp in score_batch(ctx, v, b)]


def _best(ctx: TuneContext, variant: str, batch: int) -> Prediction:
    return max((p for _, p in score_batch(ctx, variant, batch)), key=lambda p: p.sequences_per_s)


def _time_batches(ctx: TuneContext, variants: Sequence[str], batches: Sequence[int], lengths: Sequence[int],
                  tick: Tick) -> None:
    if not batches or not variants:
        return
    sessions = {v: open_session(ctx.paths[v], SessionSpec(threads=ctx.cores)) for v in variants}
    shapes: list[Shape] = [(b, n) for b in batches for n in lengths]
    medians = time_cells(sessions, shapes, ctx.cell_feeds, ctx.options.rounds, tick=tick)
    for v, cells in medians.items():
        ctx.cells.setdefault((v, Layout(1, ctx.cores)), {}).update(cells)


def layouts(ctx: TuneContext, top: Candidate, tick: Tick) -> dict[str, Any]:
    """One session with every core against a session per core, for the best candidate: cells at
    one thread priced, then both layouts served on the search rows, interleaved, and compared."""
    if ctx.cores < 2:
        return {}
    layout = Layout(ctx.cores, 1)
    parallel = Candidate(top.variant, top.batching, top.batch_size, layout)
    sessions = [open_session(ctx.paths[top.variant], SessionSpec(threads=1)) for _ in range(layout.sessions)]
    shapes = [(top.batch_size, n) for n in grid_lengths(ctx.search_lengths)]
    ctx.cells[(top.variant, layout)] = time_parallel(sessions, shapes, ctx.cell_feeds, ctx.options.rounds,
                                                      tick=tick)
    ctx.scored.append((parallel, predict(parallel, latency_model(ctx.cells[(top.variant, layout)]),
                                         ctx.search_lengths)))
    measured = {c: serve_rounds(ctx, c, ctx.search, LAYOUT_ROUNDS) for c in (top, parallel)}
    return {"candidates": [c.to_dict() for c in measured],
            "measured_sequences_per_s": list(measured.values())}


def serve_rounds(ctx: TuneContext, candidate: Candidate, rows: np.ndarray, rounds: int) -> float:
    """Measured throughput (median over passes) of ``candidate`` serving ``rows``."""
    _, feeds = serving(ctx, candidate, rows)
    sessions = open_sessions(ctx, candidate)
    run_pass(sessions, feeds[:2])
    walls = [run_pass(sessions, feeds)[0].wall_s for _ in range(rounds)]
    return len(rows) / float(np.median(walls))


def choose(ctx: TuneContext, measured: dict[str, Any]) -> Candidate | None:
    """The winner: the best-ranked candidate meeting the SLO; between the two thread layouts of
    the best one, the layout measured faster."""
    ranked = rank(ctx.scored, ctx.options.slo)
    slo = ctx.options.slo
    meeting = [c for c, p in ranked if slo is None or slo.met(p)]
    if not meeting:
        return None
    if measured:
        (a, b), (sa, sb) = ([Candidate.from_dict(d) for d in measured["candidates"]],
                            measured["measured_sequences_per_s"])
        options = [(s, c) for c, s in ((a, sa), (b, sb)) if c in meeting]
        if options:
            return max(options, key=lambda sc: sc[0])[1]
    return meeting[0]
