"""The text (and decoder) benchmark, as small named stages.

Open the model directory; read the profile and its real rows; design the sweep; plan the
replays; build feeds (the replays get the cell feeds of their batch shapes, timed side by side);
then the shared stages of :mod:`.context` (PyTorch, variants, every cell per round, with the
replay passes spread over the same rounds); weight by the data per padding policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import BenchError
from .context import Context, bench_context, common_settings, make_results, time_cells
from .decode import GenerationEstimate, design_generation, is_generation
from .expected import DEFAULT_POLICIES, LatencyModel, Policy, PolicyEstimate, estimate, parse_policy
from .inputs import FeedFactory, as_text_rows, check_profile_matches, load_model_tokenizer, profile_texts
from .model_dir import ModelDir
from .options import BenchOptions
from .profile_view import ProfileView, profile_view
from .replay import ReplayPlan, ReplayResult
from .requests import RequestEstimate
from .results import BenchResults, CellResult
from .runner import make_session
from .sweep import Cell, default_policy_batch, design_quick, design_sweep


def run_text_benchmark(model: ModelDir, profile: Any, options: BenchOptions, texts: Any = None
                       ) -> BenchResults:
    """The text (and decoder) sweep; see :func:`run_benchmark`."""
    if options.image_sizes:
        raise BenchError(f"--image-sizes applies to image models and {str(model.path)!r} is a text "
                         "model; give --sequence-lengths instead")
    with bench_context(model, options) as ctx:
        stage_data(ctx, profile, texts)
        generating = is_generation(ctx.model)
        pytorch, replay_rows = options.pytorch, options.replay_rows
        chosen: list[Policy] = []
        if generating:
            pytorch = generation_limits(ctx, pytorch, replay_rows, options.policies)
            cells = design_generation(ctx.view, options.batch_sizes, options.sequence_lengths,
                                      options.new_tokens, ctx.model.max_length)
            replay_rows = 0
        else:
            chosen = resolve_policies(ctx, options.policies) if ctx.view is not None else []
            cells = design_text(ctx, options, chosen)
        ctx.cells = cells
        batch = options.policy_batch_size or max(c.batch_size for c in cells)
        plans = stage_replay_plans(ctx, chosen, batch, replay_rows, options.seed)
        factory = stage_feeds(ctx, cells, options.seed, plans)
        variant = options.variants[0]
        passes = replay_passes(ctx, plans, variant, options.replay_repeats)
        served = None
        if generating and options.replay_rows:
            from .decode import DecoderFeeds
            from .generation_replay import plan_generation_replay

            assert isinstance(factory, DecoderFeeds)       # a decoder's cell feeds
            served = plan_generation_replay(ctx, options.replay_rows, options.seed,
                                            options.policy_batch_size or 1, variant, factory.past)
            passes = served.after_cell
        infos, measured = time_cells(ctx, options, pytorch, after_cell=passes)
        expected, replays, generation, requests, served_replays = [], [], [], [], []
        if generating:
            generation = stage_generation(ctx, measured, options.new_tokens)
            requests = stage_requests(ctx, measured, options.new_tokens, options.seed)
            if served is not None:
                from .generation_replay import finish_generation_replay

                served_replays = [finish_generation_replay(served, measured)]
        else:
            models = latency_models(measured)
            expected = stage_expected(ctx, models, chosen, batch)
            replays = finish_replays(plans, models[variant], variant,
                                     round_models(measured, variant, options.rounds), options.replay_repeats)
            rounds_s = expected_per_round(ctx, measured, chosen, batch, options.rounds)
    settings = {**common_settings(ctx, options, pytorch), "grid": options.grid,
                "pytorch_cells": None if ctx.torch_cells is None else sorted(c.spec() for c in ctx.torch_cells),
                "replay_repeats_per_round": options.replay_repeats if plans else 0,
                "new_tokens": options.new_tokens if generating else None,
                "new_tokens_source": _new_tokens_source(ctx, options.new_tokens) if generating else None,
                "profile": _profile_summary(ctx.view)}
    return make_results(ctx, settings, infos, measured, expected=tuple(expected),
                        replays=tuple(replays), generation=tuple(generation),
                        requests=tuple(requests), generation_replays=tuple(served_replays),
                        extra={"expected_total_s_per_round": rounds_s} if not generating else {})


def design_text(ctx: Context, options: BenchOptions, chosen: Sequence[Policy]) -> list[Cell]:
    """The quick grid when asked for and a profile is there (and no axis was given), else the full."""
    pads = [p.pad_to for p in chosen if p.pad_to]
    given = options.batch_sizes is not None or options.sequence_lengths is not None
    if options.grid == "quick" and ctx.view is not None and not given:
        batch = options.policy_batch_size or default_policy_batch(ctx.view, None)
        cells, ctx.torch_cells = design_quick(ctx.view, batch, pads, ctx.model.max_length)
        return cells
    return design_sweep(ctx.view, options.batch_sizes, options.sequence_lengths,
                        ctx.model.max_length, extra_lengths=pads)


def stage_data(ctx: Context, profile: Any, texts: Any) -> None:
    """Profile view, tokenizer and real rows (when a profile or texts are given)."""
    if profile is None and texts is None:
        return
    ctx.tokenizer = load_model_tokenizer(ctx.model)
    if isinstance(profile, Mapping) and profile.get("generation"):   # one object keeps the requests
        from ..profile.protocol import profile_from_dict

        profile = profile_from_dict(profile)
    if profile is not None:
        ctx.view = profile_view(profile)
        check_profile_matches(ctx.view, ctx.model, ctx.tokenizer)
        if getattr(ctx.view.source, "generation", None) is not None and texts is None:
            from .generation_replay import profile_requests   # rendered with the bench's tokenizer

            profile_requests(ctx.view, ctx.tokenizer)
    rows = as_text_rows(texts)
    ctx.texts = rows if rows is not None else profile_texts(ctx.view)
    if len(ctx.texts) == 0:
        raise BenchError("no texts to build real batches from; give a non-empty dataset")
    ctx.source = "data"


def stage_feeds(ctx: Context, cells: Sequence[Cell], seed: int, plans: Sequence[ReplayPlan] = ()
                ) -> Callable[[Cell], dict[str, np.ndarray]]:
    """Feeds of every text cell, and of the cells at the replays' batch shapes; returns the
    factory that made them."""
    if is_generation(ctx.model):
        from .decode import DecoderFeeds, token_stream

        tokens = token_stream(ctx.tokenizer, ctx.texts) if ctx.texts is not None else None
        factory: Callable[[Cell], dict[str, np.ndarray]] = DecoderFeeds(
            ctx.model, make_session(ctx.model.onnx_path, ctx.settings), tokens, seed)
    else:
        factory = FeedFactory(ctx.model, ctx.tokenizer, ctx.texts, seed)
    ctx.feeds = {cell: factory(cell) for cell in cells}
    shapes = {Cell(b, n) for plan in plans for b, n in plan.shapes}
    shape_feeds = {c: ctx.feeds.get(c) or factory(c) for c in shapes}
    for plan in plans:
        plan.attach_cells(lambda shape: shape_feeds[Cell(*shape)])
    return factory


def generation_limits(ctx: Context, pytorch: bool, replay_rows: int, policies: Any) -> bool:
    """What the generation sweep leaves out, as notes; returns whether PyTorch is timed (never)."""
    if pytorch:
        ctx.notes.append("generation sweep: no PyTorch baseline for prefill/decode steps (onnxruntime only)")
    if policies:
        ctx.notes.append("generation sweep: padding policies apply to encoders; skipped")
    return False


def stage_generation(ctx: Context, cells: Sequence[CellResult], new_tokens: int | None
                     ) -> list[GenerationEstimate]:
    """Expected TTFT and latency per request, per variant and batch size, for a constant number
    of new tokens: over the profile's prompt lengths, else at each measured prompt length
    (nothing when the profile's real completions are used: see ``stage_requests``)."""
    from .decode import DEFAULT_NEW_TOKENS, estimate_generation, generation_models

    if _new_tokens_source(ctx, new_tokens) == "data pairs":
        return []
    new_tokens = DEFAULT_NEW_TOKENS if new_tokens is None else new_tokens

    batches = sorted({c.batch_size for c in ctx.cells})
    if ctx.view is not None:
        histograms = [ctx.view.counts]
    else:
        histograms = [{c.sequence_length: 1} for c in ctx.cells
                      if c.phase == "prefill" and c.batch_size == batches[0]]
    return [estimate_generation(prefill, decode, counts, b, new_tokens, name,
                                max_length=ctx.model.max_length)
            for name, (prefill, decode) in generation_models(cells).items()
            for b in batches for counts in histograms]


def _new_tokens_source(ctx: Context, new_tokens: int | None) -> str:
    if new_tokens is None and ctx.view is not None and ctx.view.pairs:
        return "data pairs"
    from .decode import DEFAULT_NEW_TOKENS

    return f"constant {DEFAULT_NEW_TOKENS if new_tokens is None else new_tokens}"


def stage_requests(ctx: Context, cells: Sequence[CellResult], new_tokens: int | None, seed: int
                   ) -> list[RequestEstimate]:
    """TTFT, ms per token and latency percentiles per variant and batch size over the real
    (prompt, completion) pairs, else over the prompts with a constant number of new tokens."""
    from .decode import DEFAULT_NEW_TOKENS, generation_models
    from .requests import constant_pairs, estimate_requests

    source = _new_tokens_source(ctx, new_tokens)
    if source == "data pairs":
        assert ctx.view is not None and ctx.view.pairs
        pairs = ctx.view.pairs
    else:
        counts = ctx.view.counts if ctx.view is not None else {
            c.sequence_length: 1 for c in ctx.cells if c.phase == "prefill"}
        pairs = constant_pairs(counts, new_tokens or DEFAULT_NEW_TOKENS, ctx.model.max_length)
        source = f"prompts x {new_tokens or DEFAULT_NEW_TOKENS} new tokens"
    batches = sorted({c.batch_size for c in ctx.cells})
    return [estimate_requests(prefill, decode, pairs, b, name, source=source, seed=seed)
            for name, (prefill, decode) in generation_models(cells).items() for b in batches]


def latency_models(cells: Sequence[CellResult]) -> dict[str, LatencyModel]:
    """One latency model per variant, PyTorch included, on each cell's median.

    The median, not the mean: on a shared machine a few calls slowed by outside load would
    otherwise bias every prediction (replays are measured as per-batch medians too).
    """
    by_variant: dict[str, list[tuple[int, int, float]]] = {}
    for c in cells:
        by_variant.setdefault(c.variant, []).append((c.batch_size, c.sequence_length, c.stats.p50))
    return {name: LatencyModel(curves(points)) for name, points in by_variant.items()}


def curves(points: Sequence[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """The points of batch sizes measured at two or more lengths, when there are any: a batch
    size timed at one length (the quick grid's batch 1) says nothing about length."""
    lengths: dict[int, set[int]] = {}
    for b, n, _ in points:
        lengths.setdefault(b, set()).add(n)
    kept = [p for p in points if len(lengths[p[0]]) > 1]
    return kept or list(points)


def has_curve(model: LatencyModel) -> bool:
    return any(len(points) > 1 for points in model.points.values())


def expected_per_round(ctx: Context, cells: Sequence[CellResult], chosen: Sequence[Policy], batch: int,
                       rounds: int) -> dict[str, dict[str, list[float]]]:
    """Expected total seconds per onnxruntime variant and policy, one per round (from the round's
    cell medians): ratios between policies get an interval paired by round."""
    if ctx.view is None or not chosen:
        return {}
    out: dict[str, dict[str, list[float]]] = {}
    for variant in dict.fromkeys(c.variant for c in cells if c.runtime == "onnxruntime"):
        per_round = round_models(cells, variant, rounds)
        if per_round is None:
            continue
        models = [LatencyModel(curves([(b, n, m(b, n)) for b, n in m.exact])) for m in per_round]
        for p in chosen:
            found = [estimate(m, ctx.view.counts, p, batch) for m in models]
            out.setdefault(variant, {})[found[0].policy] = [e.total_s for e in found]
    return out


def resolve_policies(ctx: Context, names: Sequence[str] | None) -> list[Policy]:
    assert ctx.view is not None
    limit = ctx.model.max_length or max(ctx.view.counts)
    chosen: dict[str, Policy] = {}
    for text in names or DEFAULT_POLICIES:
        policy = parse_policy(text, limit, ctx.view.bucket_edges(), max(ctx.view.counts))
        chosen.setdefault(policy.label, policy)
    return list(chosen.values())


def stage_expected(ctx: Context, models: dict[str, LatencyModel], chosen: Sequence[Policy],
                   batch: int) -> list[PolicyEstimate]:
    """Expected latency per variant x policy from the profile."""
    if ctx.view is None:
        return []
    if any(has_curve(m) for m in models.values()):     # PyTorch timed at one length: no estimate
        models = {name: m for name, m in models.items() if has_curve(m)}
    expected = [estimate(model, ctx.view.counts, p, batch, name,
                         "pytorch" if name == "pytorch" else "onnxruntime")
                for name, model in models.items() for p in chosen]
    outside = sorted({e.label for e in expected if e.outside_measured > 0})
    if outside:
        ctx.notes.append(f"some batches of {', '.join(outside)} fall outside the measured lengths; "
                         "their latency is extrapolated (add those lengths to --sequence-lengths)")
    return expected


def stage_replay_plans(ctx: Context, policies: Sequence[Policy], batch: int, rows: int,
                       seed: int) -> list[ReplayPlan]:
    """Replay batches of a data sample per policy (outside any timing)."""
    if not rows:
        return []
    if ctx.view is None:
        ctx.notes.append("replay needs a profile; skipped")
        return []
    from .inputs import complete_feeds
    from .replay import plan_replay, sample_rows, take, tokenize_rows

    limit = ctx.model.max_length or max(ctx.view.counts)
    ids, lengths = tokenize_rows(ctx.tokenizer, ctx.texts, limit)
    pick = sample_rows(len(lengths), rows, seed)
    ids, lengths = take(ids, pick), lengths[pick]
    pad_id = int(ctx.tokenizer.pad_token_id or 0)

    def complete(feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        b, n = feeds["input_ids"].shape
        return complete_feeds(ctx.model, feeds, Cell(b, n))

    return [plan_replay(complete, ids, lengths, p, batch, pad_id) for p in policies]


def replay_passes(ctx: Context, plans: Sequence[ReplayPlan], variant: str, repeats: int
                  ) -> Callable[[int, int], None] | None:
    """The per-cell hook: every round runs ``repeats`` passes of every plan through ``variant``,
    a slice after each cell."""
    if not plans:
        return None
    from .replay import run_batch, spread

    slices: dict[int, list] = {}    # per round, cut once

    def after_cell(r: int, i: int) -> None:
        session = ctx.variant_session(variant)
        if r not in slices:
            slices[r] = spread(plans, repeats, len(ctx.cells), turn=r)
        for plan, batch in slices[r][i]:
            run_batch(lambda feeds: session.run(None, feeds), plan, batch)

    return after_cell


def round_models(cells: Sequence[CellResult], variant: str, rounds: int) -> list[LatencyModel] | None:
    """One latency model per round from ``variant``'s per-round cell medians (None if a cell
    did not keep its rounds)."""
    mine = [(c, c.round_medians()) for c in cells if c.variant == variant]
    if not mine or any(m is None or m.size != rounds for _, m in mine):
        return None
    return [LatencyModel((c.batch_size, c.sequence_length, float(m[r])) for c, m in mine)
            for r in range(rounds)]


def finish_replays(plans: Sequence[ReplayPlan], model: LatencyModel, variant: str,
                   per_round: Sequence[LatencyModel] | None = None, repeats: int = 1
                   ) -> list[ReplayResult]:
    from .replay import finish

    return [finish(plan, model, variant, per_round=per_round, repeats=repeats) for plan in plans]


def _profile_summary(view: ProfileView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    return {"rows": view.rows, "model_type": view.model_type, "tokenizer_class": view.tokenizer_class,
            "bucket_edges": list(view.bucket_edges()), "p50": view.quantile(50),
            "p90": view.quantile(90), "p99": view.quantile(99), "dataset": view.dataset,
            "length_counts": {str(k): int(v) for k, v in sorted(view.counts.items())}}
