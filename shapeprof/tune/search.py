"""The search: time every accurate variant on a coarse grid, prune what cannot win, time the
smaller batch sizes and grow the batch size as far as the SLO allows, then time every kept variant
again as one session per core at every one of those batch sizes (small batches can win there,
where one session with every core loses them to its threads' synchronisation), and serve the best
candidate of each thread layout to choose between them.

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
from .measure import SessionSpec, Shape, latency_model, open_session, time_cells, time_parallel_groups
from .options import BASELINE_BATCH
from .serve import Feeds, build_feeds, run_pass

GRID_QUANTILES = (0, 25, 50, 90, 100)
LAYOUT_ROUNDS = 9        # the best of each layout served on the search rows (a pass is well under 1 s)
SMALL_BATCHES = (1, 2, 4, 8, 16)      # timed below the baseline's 32, with the profile's own
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


def search_serving(ctx: TuneContext, candidate: Candidate) -> tuple[Plan, list[Feeds]]:
    """The candidate's batches and feeds over the search rows, built once (kept in ``ctx.served``)."""
    if candidate not in ctx.served:
        ctx.served[candidate] = serving(ctx, candidate, ctx.search)
    return ctx.served[candidate]


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


def small_batches(profile_sizes: Sequence[int]) -> list[int]:
    """Batch sizes timed below the baseline's: the profile's and the powers of two up to 16."""
    return sorted({b for b in (*profile_sizes, *SMALL_BATCHES) if 1 <= b < BASELINE_BATCH})


def grow(ctx: TuneContext, variants: Sequence[str], tick: Tick) -> None:
    """Time the smaller batch sizes, then double from 32 while it pays and the SLO holds."""
    lengths = grid_lengths(ctx.search_lengths)
    small = small_batches(ctx.view.batch_sizes)
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


def layouts(ctx: TuneContext, variants: Sequence[str], tick: Tick) -> dict[str, Any]:
    """Every kept variant as one session per core, one thread each, at every batch size the
    single-session search timed: cells timed with the sessions running at once (variants
    interleaved), every policy priced; then the best candidate of each layout served on the search
    rows, interleaved round by round, and compared."""
    if ctx.cores < 2 or not variants:
        return {}
    single, parallel = Layout(1, ctx.cores), Layout(ctx.cores, 1)
    sizes = sorted({b for v in variants for b, _ in ctx.cells[(v, single)]})
    groups = {v: [open_session(ctx.paths[v], SessionSpec(threads=1)) for _ in range(parallel.sessions)]
              for v in variants}
    shapes = [(b, n) for b in sizes for n in grid_lengths(ctx.search_lengths)]
    timed = time_parallel_groups(groups, shapes, ctx.cell_feeds, ctx.options.rounds, tick=tick)
    for v, cells in timed.items():
        ctx.cells[(v, parallel)] = cells
        ctx.scored += [cp for b in sizes for cp in score_batch(ctx, v, b, parallel)]
    tops = [c for c in (_top(ctx, single), _top(ctx, parallel)) if c is not None]
    if not tops:
        return {}
    tick(f"serving the best of each layout ({len(tops)}) on the search rows")
    return {"candidates": [c.to_dict() for c in tops],
            "measured_sequences_per_s": serve_interleaved(ctx, tops, LAYOUT_ROUNDS)}


def _top(ctx: TuneContext, layout: Layout) -> Candidate | None:
    """The best-predicted candidate of ``layout`` meeting the SLO (None when none does)."""
    slo = ctx.options.slo
    return next((c for c, p in rank(ctx.scored, slo) if c.layout == layout and (slo is None or slo.met(p))),
                None)


def serve_interleaved(ctx: TuneContext, candidates: Sequence[Candidate], rounds: int) -> list[float]:
    """Measured throughput of each candidate serving the search rows: the median of its passes, the
    candidates' passes interleaved in a rotating order so the machine's drift hits them alike."""
    prepared = [(search_serving(ctx, c)[1], open_sessions(ctx, c)) for c in candidates]
    for feeds, sessions in prepared:
        run_pass(sessions, feeds[:2])
    walls: list[list[float]] = [[] for _ in candidates]
    order = list(range(len(candidates)))
    for r in range(rounds):
        for i in order[r % len(order):] + order[:r % len(order)]:
            walls[i].append(run_pass(prepared[i][1], prepared[i][0])[0].wall_s)
    return [len(ctx.search) / float(np.median(w)) for w in walls]


def choose(ctx: TuneContext, measured: dict[str, Any]) -> Candidate | None:
    """The winner: the best-ranked candidate meeting the SLO; between the best candidates of the
    thread layouts, the one measured fastest."""
    ranked = rank(ctx.scored, ctx.options.slo)
    slo = ctx.options.slo
    meeting = [c for c, p in ranked if slo is None or slo.met(p)]
    if not meeting:
        return None
    if measured:
        served = zip((Candidate.from_dict(d) for d in measured["candidates"]), measured["measured_sequences_per_s"])
        options = [(s, c) for c, s in served if c in meeting]
        if options:
            return max(options, key=lambda sc: sc[0])[1]
    return meeting[0]
