"""``run_benchmark``: MODEL_DIR (+ profile) + BenchOptions -> BenchResults, as small named stages.

One entry point for every modality: an image or audio model goes to ``bench.media`` (batch x
size cells), anything else is swept as text here. Both share the :class:`Context`, which holds
any cell type (:class:`~shapeprof.bench.sweep.SweepCell`), and the timing stages.

Text stages: open the model directory; read the profile and its real rows; design the sweep;
plan the replays; build feeds (the replays get the cell feeds of their batch shapes, timed side
by side); load PyTorch; build and check the variants; time every cell per variant (in process or
a fresh process per round) and in PyTorch, with the replay passes spread over the same rounds;
weight by the data per padding policy.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BenchError
from .decode import GenerationEstimate, design_generation, is_generation
from .expected import DEFAULT_POLICIES, LatencyModel, Policy, PolicyEstimate, estimate, parse_policy
from .inputs import FeedFactory, as_text_rows, check_profile_matches, load_model_tokenizer, profile_texts
from .model_dir import ModelDir, open_model_dir
from .options import BenchOptions
from .profile_view import ProfileView, profile_view
from .replay import ReplayPlan, ReplayResult
from .results import BenchResults, CellResult
from .runner import (PeakMemory, SessionSettings, TimingPolicy, calling_thread_denormals, collect_samples,
                     make_session, ort_call)
from .sweep import Cell, SweepCell, design_sweep
from .variants import EXACT_ATOL, VariantInfo, build_variant, deviation

CHECK_CELLS = 2     # variants are checked on the smallest and the largest cell
Feeds = dict[str, np.ndarray]


@dataclass
class Context:
    """State shared by the stages of one run, text or media."""

    model: ModelDir
    settings: SessionSettings
    timing: TimingPolicy
    workdir: Path
    view: ProfileView | None = None
    tokenizer: Any = None
    texts: Any = None
    source: str = "random"                  # "data" when the feeds are real rows or samples
    cells: Sequence[SweepCell] = field(default_factory=list)
    sessions: dict[str, Any] = field(default_factory=dict)
    feeds: dict[SweepCell, Feeds] = field(default_factory=dict)
    torch_module: Any = None
    variant_paths: dict[str, Path] = field(default_factory=dict)
    references: dict[SweepCell, tuple[str, list[np.ndarray]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def run_benchmark(model_dir: str | Path | ModelDir, profile: Any = None,
                  options: BenchOptions | None = None, *, data: Any = None) -> BenchResults:
    """Benchmark the exported model in MODEL_DIR with onnxruntime (and PyTorch eager).

    ``profile`` (any Profile, its JSON mapping or path) chooses the sweep and the real data;
    ``options`` (default ``BenchOptions()``) says what to time and how. ``data`` gives real
    inputs directly: text rows for a text model, a folder, files or ``datasets.Dataset`` of
    images or clips for a media model. An image or audio model is swept over batch x size
    (``shapeprof.bench.media``); a text model over batch x length, with expected latency per
    padding policy and replay when there is a profile; a decoder exported with past key values
    over prefill and decode steps, with the expected time to first token and per request.
    """
    from ..modality import MEDIA, modality_of

    options = options if options is not None else BenchOptions()
    model = as_model_dir(model_dir)
    if modality_of(model) in MEDIA:
        from .media import run_media_benchmark

        return run_media_benchmark(model, profile, options, data=data)
    return run_text_benchmark(model, profile, options, texts=data)


def as_model_dir(model_dir: str | Path | ModelDir) -> ModelDir:
    return model_dir if isinstance(model_dir, ModelDir) else open_model_dir(model_dir)


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
            cells = design_sweep(ctx.view, options.batch_sizes, options.sequence_lengths,
                                 ctx.model.max_length, extra_lengths=[p.pad_to for p in chosen if p.pad_to])
        ctx.cells = cells
        batch = options.policy_batch_size or max(c.batch_size for c in cells)
        plans = stage_replay_plans(ctx, chosen, batch, replay_rows, options.seed)
        stage_feeds(ctx, cells, options.seed, plans)
        variant = options.variants[0]
        passes = replay_passes(ctx, plans, variant, options.replay_repeats)
        infos, measured = time_cells(ctx, options, pytorch, after_cell=passes)
        expected, replays, generation = [], [], []
        if generating:
            generation = stage_generation(ctx, measured, options.new_tokens)
        else:
            models = latency_models(measured)
            expected = stage_expected(ctx, models, chosen, batch)
            replays = finish_replays(plans, models[variant], variant,
                                     round_models(measured, variant, options.rounds), options.replay_repeats)
    settings = {**common_settings(ctx, options, pytorch),
                "replay_repeats_per_round": options.replay_repeats if plans else 0,
                "new_tokens": options.new_tokens if generating else None,
                "profile": _profile_summary(ctx.view)}
    return make_results(ctx, settings, infos, measured, expected=tuple(expected),
                        replays=tuple(replays), generation=tuple(generation))


# ---- shared by every modality ----------------------------------------------------------------
@contextmanager
def bench_context(model: ModelDir, options: BenchOptions) -> Iterator[Context]:
    """A Context with the options' sessions and timing, a work directory and the calling
    thread's denormal setting, for the duration of one run."""
    with (tempfile.TemporaryDirectory(prefix="shapeprof-bench-") as tmp,
          calling_thread_denormals(options.flush_denormals)):
        yield Context(model, options.session_settings(), options.timing(), Path(tmp))


def time_cells(ctx: Context, options: BenchOptions, pytorch: bool,
               after_cell: Callable[[int, int], None] | None = None
               ) -> tuple[list[VariantInfo], list[CellResult]]:
    """Load PyTorch, build and check the variants, then time every cell (ctx.feeds set)."""
    if pytorch:
        stage_torch(ctx, options.torch_model)
    names = options.variants
    infos = [stage_variant(ctx, name) for name in names]
    bar = progress_bar(options.progress, len(ctx.cells) * (len(names) + bool(pytorch)))
    cells = measure_all(ctx, names, pytorch, options.fresh_process, options.rounds, bar, after_cell)
    bar.close()
    return infos, cells


def common_settings(ctx: Context, options: BenchOptions, pytorch: bool) -> dict[str, Any]:
    """What every result records about how it was measured."""
    return {**ctx.settings.to_dict(), **ctx.timing.to_dict(), "fresh_process": options.fresh_process,
            "rounds": options.rounds, "variants": list(options.variants), "pytorch": pytorch,
            "cells": [c.spec() for c in ctx.cells], "input_source": ctx.source}


def make_results(ctx: Context, settings: dict[str, Any], infos: Sequence[VariantInfo],
                 cells: Sequence[CellResult], **more: Any) -> BenchResults:
    from .env import capture_environment

    return BenchResults(ctx.model.summary(), settings, capture_environment(ctx.settings.intra_op_threads),
                        tuple(infos), tuple(cells), notes=tuple(ctx.notes),
                        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), **more)


# ---- stages ----------------------------------------------------------------------------------
def stage_data(ctx: Context, profile: Any, texts: Any) -> None:
    """Profile view, tokenizer and real rows (when a profile or texts are given)."""
    if profile is None and texts is None:
        return
    ctx.tokenizer = load_model_tokenizer(ctx.model)
    if profile is not None:
        ctx.view = profile_view(profile)
        check_profile_matches(ctx.view, ctx.model, ctx.tokenizer)
    rows = as_text_rows(texts)
    ctx.texts = rows if rows is not None else profile_texts(ctx.view)
    if len(ctx.texts) == 0:
        raise BenchError("no texts to build real batches from; give a non-empty dataset")
    ctx.source = "data"


def stage_feeds(ctx: Context, cells: Sequence[Cell], seed: int, plans: Sequence[ReplayPlan] = ()) -> None:
    """Feeds of every text cell, and of the cells at the replays' batch shapes."""
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


def generation_limits(ctx: Context, pytorch: bool, replay_rows: int, policies: Any) -> bool:
    """What the generation sweep leaves out, as notes; returns whether PyTorch is timed (never)."""
    if pytorch:
        ctx.notes.append("generation sweep: no PyTorch baseline for prefill/decode steps (onnxruntime only)")
    if replay_rows or policies:
        ctx.notes.append("generation sweep: padding policies and replay apply to encoders; skipped")
    return False


def stage_generation(ctx: Context, cells: Sequence[CellResult], new_tokens: int
                     ) -> list[GenerationEstimate]:
    """Expected TTFT and latency per request, per variant and batch size: over the profile's
    prompt lengths, else at each measured prompt length."""
    from .decode import estimate_generation, generation_models

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


def stage_torch(ctx: Context, torch_model: str | Path | None) -> None:
    from .torch_runner import load_torch_model, torch_source

    source = torch_source(ctx.model, torch_model)
    if source is None:
        raise BenchError(f"{str(ctx.model.path)!r} has no PyTorch weights for the eager baseline; "
                         "pass --torch-model with the original model directory, or --no-pytorch")
    ctx.torch_module = load_torch_model(source, ctx.model, ctx.settings.intra_op_threads)


def reference_outputs(ctx: Context, cell: SweepCell) -> tuple[str, list[np.ndarray]]:
    """Outputs to check variants against: PyTorch's, else the exported graph's (cached)."""
    if cell not in ctx.references:
        feeds = ctx.feeds[cell]
        if ctx.torch_module is not None:
            from .torch_runner import torch_output

            outs = [torch_output(ctx.torch_module, feeds, n) for n in ctx.model.outputs]
            ctx.references[cell] = ("pytorch", outs)
        else:
            session = make_session(ctx.model.onnx_path, ctx.settings)
            ctx.references[cell] = ("onnx", session.run(list(ctx.model.outputs), feeds))
    return ctx.references[cell]


def check_cells(ctx: Context) -> list[SweepCell]:
    ordered = sorted(ctx.cells, key=lambda c: (c.tokens, c))
    return list(dict.fromkeys([ordered[0], ordered[-1]]))[:CHECK_CELLS]


def stage_variant(ctx: Context, name: str) -> VariantInfo:
    """Build the variant, then compare it with the reference on real rows before timing."""
    path, fused = build_variant(name, ctx.model, ctx.workdir)
    ctx.variant_paths[name] = path
    session = make_session(path, ctx.settings)
    worst = mean = 0.0
    reference = "onnx"
    checked = check_cells(ctx)
    for cell in checked:
        reference, expected = reference_outputs(ctx, cell)
        got = session.run(list(ctx.model.outputs), ctx.feeds[cell])
        w, m = deviation(got, expected)
        worst, mean = max(worst, w), max(mean, m)
    source = "data rows" if ctx.source == "data" else "random ids"
    where = f"{source} at {', '.join(c.label for c in checked)}"
    if reference == "onnx" and name == "onnx":
        worst, mean = 0.0, 0.0
    return VariantInfo(name, str(path), reference, worst, mean, where, worst <= EXACT_ATOL, fused,
                       round(path.stat().st_size / 1e6, 3))


def measure_all(ctx: Context, names: Sequence[str], pytorch: bool, fresh: bool, rounds: int,
                bar: Any, after_cell: Callable[[int, int], None] | None = None) -> list[CellResult]:
    """Time every cell under every runtime, interleaved.

    Each round visits every cell, and within a cell every runtime back to back, so a burst of
    outside load hits all runtimes and cells alike: speedups and the latency curve stay
    sound on a busy machine. The runtimes' order rotates from round to round, and each
    round's sample count is kept, so speedups can be paired by round (shapeprof.bench.paired).
    ``after_cell(r, i)`` runs after cell ``i`` of round ``r`` (a slice of the replay passes).
    """
    timers = {name: _onnx_timer(ctx, name, fresh) for name in names}
    if pytorch:
        timers["pytorch"] = _torch_timer(ctx)
    order = list(timers)
    samples: dict[tuple[str, SweepCell], list[float]] = {(n, c): [] for c in ctx.cells for n in timers}
    sizes: dict[tuple[str, SweepCell], list[int]] = {key: [] for key in samples}
    peaks: dict[tuple[str, SweepCell], float | None] = dict.fromkeys(samples)
    for r in range(rounds):
        for i, cell in enumerate(ctx.cells):
            for name in order[r % len(order):] + order[:r % len(order)]:
                got, peak = timers[name](cell, r)
                samples[name, cell] += got
                sizes[name, cell].append(len(got))
                old = peaks[name, cell]
                peaks[name, cell] = peak if old is None or (peak is not None and peak > old) else old
                if r == rounds - 1:
                    bar.update(1)
            if after_cell is not None:
                after_cell(r, i)
    return [CellResult(name, "pytorch" if name == "pytorch" else "onnxruntime", c.batch_size,
                       c.sequence_length, ctx.source, tuple(samples[name, c]), peaks[name, c], rounds,
                       c.phase, c.past_length, tuple(sizes[name, c]))
            for name in timers for c in ctx.cells]


Timer = Callable[[SweepCell, int], tuple[list[float], "float | None"]]


def _onnx_timer(ctx: Context, name: str, fresh: bool) -> Timer:
    if fresh:
        return lambda cell, r: _fresh_round(ctx, name, cell, r)
    if name not in ctx.sessions:
        ctx.sessions[name] = make_session(ctx.variant_paths[name], ctx.settings)
    session = ctx.sessions[name]

    def timer(cell: SweepCell, r: int) -> tuple[list[float], float | None]:
        with PeakMemory() as mem:
            got = collect_samples(ort_call(session, ctx.feeds[cell]), ctx.timing)
        return got, mem.mib

    return timer


def _torch_timer(ctx: Context) -> Timer:
    from .torch_runner import torch_call

    first = next(iter(ctx.model.outputs))

    def timer(cell: SweepCell, r: int) -> tuple[list[float], float | None]:
        with PeakMemory() as mem:
            got = collect_samples(torch_call(ctx.torch_module, ctx.feeds[cell], first), ctx.timing)
        return got, mem.mib

    return timer


def _fresh_round(ctx: Context, name: str, cell: SweepCell, r: int) -> tuple[list[float], float | None]:
    from .worker import run_in_subprocess

    feeds_path = ctx.workdir / f"feeds-{cell.label}.npz"
    if not feeds_path.exists():
        np.savez(feeds_path, **ctx.feeds[cell])
    spec = {"onnx": str(ctx.variant_paths[name]), "settings": ctx.settings.to_dict(),
            "policy": ctx.timing.to_dict(), "feeds": str(feeds_path)}
    spec_path = ctx.workdir / f"spec-{name}-{cell.label}-{r}.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    result = run_in_subprocess(spec_path)
    return [float(s) for s in result["samples_ms"]], result.get("peak_rss_mib")


def latency_models(cells: Sequence[CellResult]) -> dict[str, LatencyModel]:
    """One latency model per variant, PyTorch included, on each cell's median.

    The median, not the mean: on a shared machine a few calls slowed by outside load would
    otherwise bias every prediction (replays are measured as per-batch medians too).
    """
    by_variant: dict[str, list[tuple[int, int, float]]] = {}
    for c in cells:
        by_variant.setdefault(c.variant, []).append((c.batch_size, c.sequence_length, c.stats.p50))
    return {name: LatencyModel(points) for name, points in by_variant.items()}


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
        if variant not in ctx.sessions:
            ctx.sessions[variant] = make_session(ctx.variant_paths[variant], ctx.settings)
        session = ctx.sessions[variant]
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


def progress_bar(enabled: bool, total: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="bench", unit="cell", file=sys.stderr, leave=False,
                disable=not (enabled and sys.stderr.isatty()))
