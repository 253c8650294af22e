"""``run_benchmark``: MODEL_DIR (+ profile) -> BenchResults, as a list of small named stages.

Stages: open the model directory; read the profile and its real rows; design the sweep; plan
the replays; build feeds (the replays get the cell feeds of their batch shapes, timed side by
side); load PyTorch; build and check the variants; time every cell per variant (in process or a
fresh process per round) and in PyTorch, with the replay passes spread over the same rounds; weight by
the data per padding policy.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BenchError
from .decode import DEFAULT_NEW_TOKENS, GenerationEstimate, design_generation, is_generation
from .expected import DEFAULT_POLICIES, LatencyModel, Policy, PolicyEstimate, estimate, parse_policy
from .inputs import FeedFactory, as_text_rows, check_profile_matches, load_model_tokenizer, profile_texts
from .model_dir import ModelDir, open_model_dir
from .profile_view import ProfileView, profile_view
from .replay import ReplayPlan, ReplayResult
from .results import BenchResults, CellResult
from .runner import (PeakMemory, SessionSettings, TimingPolicy, calling_thread_denormals, collect_samples,
                     make_session, ort_call, physical_cores)
from .sweep import Cell, design_sweep
from .variants import EXACT_ATOL, VariantInfo, build_variant, check_variant_names, deviation

CHECK_CELLS = 2     # variants are checked on the smallest and the largest cell


@dataclass
class Context:
    """State shared by the stages of one run."""

    model: ModelDir
    settings: SessionSettings
    timing: TimingPolicy
    workdir: Path
    view: ProfileView | None = None
    tokenizer: Any = None
    texts: Any = None
    cells: list[Cell] = field(default_factory=list)
    sessions: dict[str, Any] = field(default_factory=dict)
    feeds: dict[Cell, dict[str, np.ndarray]] = field(default_factory=dict)
    torch_module: Any = None
    variant_paths: dict[str, Path] = field(default_factory=dict)
    references: dict[Cell, tuple[str, list[np.ndarray]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def run_benchmark(
    model_dir: str | Path,
    profile: Any = None,
    *,
    batch_sizes: Iterable[int] | None = None,
    sequence_lengths: Iterable[int] | None = None,
    providers: Sequence[str] = ("CPUExecutionProvider",),
    graph_optimization: str = "all",
    intra_op_threads: int | None = None,
    warmup: int = 3,
    min_samples: int = 4,
    min_time_s: float = 0.1,
    variants: Sequence[str] = ("onnx",),
    pytorch: bool = True,
    torch_model: str | Path | None = None,
    fresh_process: bool = False,
    rounds: int = 5,
    texts: Any = None,
    policies: Sequence[str] | None = None,
    policy_batch_size: int | None = None,
    replay_rows: int = 0,
    replay_repeats: int = 1,
    seed: int = 0,
    progress: bool = True,
    new_tokens: int = DEFAULT_NEW_TOKENS,
    flush_denormals: bool = True,
) -> BenchResults:
    """Benchmark the exported model in MODEL_DIR with onnxruntime (and PyTorch eager).

    ``profile`` (a ShapeProfile, its JSON mapping or path) chooses the sweep and real rows and
    enables expected latency per padding policy; ``texts`` gives real rows directly.
    ``replay_rows`` > 0 replays that many data rows per policy, ``replay_repeats`` passes in
    every round, spread over the round's cells. ``intra_op_threads`` defaults to the physical core count and is recorded.
    A decoder exported with past key values gets a generation sweep instead (``decode``):
    prefill per prompt length, decode per past length up to ``new_tokens``, and the expected
    time to first token and latency per request; ``sequence_lengths`` are prompt lengths.
    ``flush_denormals`` flushes denormal floats to zero in onnxruntime and PyTorch alike.
    """
    threads = intra_op_threads or physical_cores()
    if rounds < 1 or min_samples < 1 or warmup < 0 or min_time_s < 0:
        raise BenchError("rounds and min_samples must be >= 1, warmup and min_time_s >= 0")
    with (tempfile.TemporaryDirectory(prefix="shapeprof-bench-") as tmp,
          calling_thread_denormals(flush_denormals)):
        ctx = Context(open_model_dir(model_dir),
                      SessionSettings(tuple(providers), graph_optimization, int(threads),
                                      flush_denormals=flush_denormals),
                      TimingPolicy(warmup, min_samples, min_time_s), Path(tmp))
        names = check_variant_names(list(variants))
        stage_data(ctx, profile, texts)
        generating = is_generation(ctx.model)
        if generating:
            pytorch = generation_limits(ctx, pytorch, replay_rows, policies)
            ctx.cells = design_generation(ctx.view, batch_sizes, sequence_lengths, new_tokens,
                                          ctx.model.max_length)
            chosen, replay_rows = [], 0
        else:
            chosen = resolve_policies(ctx, policies) if ctx.view is not None else []
            ctx.cells = design_sweep(ctx.view, batch_sizes, sequence_lengths, ctx.model.max_length,
                                     extra_lengths=[p.pad_to for p in chosen if p.pad_to])
        batch = policy_batch_size or max(c.batch_size for c in ctx.cells)
        plans = stage_replay_plans(ctx, chosen, batch, replay_rows, seed)
        stage_feeds(ctx, seed, plans)
        if pytorch:
            stage_torch(ctx, torch_model)
        infos = [stage_variant(ctx, name) for name in names]
        bar = _progress(progress, len(ctx.cells) * (len(names) + bool(pytorch)))
        passes = replay_passes(ctx, plans, names[0], replay_repeats)
        cells = measure_all(ctx, names, pytorch, fresh_process, rounds, bar, after_cell=passes)
        bar.close()
        expected, replays, generation = [], [], []
        if generating:
            generation = stage_generation(ctx, cells, new_tokens)
        else:
            models = latency_models(cells)
            expected = stage_expected(ctx, models, chosen, batch)
            replays = finish_replays(plans, models[names[0]], names[0],
                                     round_models(cells, names[0], rounds), replay_repeats)
    settings = {**ctx.settings.to_dict(), **ctx.timing.to_dict(), "fresh_process": fresh_process,
                "rounds": rounds, "variants": list(names), "pytorch": pytorch,
                "cells": [_cell_spec(c) for c in ctx.cells],
                "replay_repeats_per_round": replay_repeats if plans else 0,
                "new_tokens": new_tokens if generating else None,
                "input_source": "data" if ctx.texts is not None else "random",
                "profile": _profile_summary(ctx.view)}
    from .env import capture_environment

    return BenchResults(ctx.model.summary(), settings, capture_environment(threads), tuple(infos),
                        tuple(cells), tuple(expected), tuple(replays), tuple(ctx.notes),
                        _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                        generation=tuple(generation))


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


def stage_feeds(ctx: Context, seed: int, plans: Sequence[ReplayPlan] = ()) -> None:
    """Feeds of every cell, and of the cells at the replays' batch shapes."""
    if is_generation(ctx.model):
        from .decode import DecoderFeeds, token_stream

        tokens = token_stream(ctx.tokenizer, ctx.texts) if ctx.texts is not None else None
        factory: Callable[[Cell], dict[str, np.ndarray]] = DecoderFeeds(
            ctx.model, make_session(ctx.model.onnx_path, ctx.settings), tokens, seed)
    else:
        factory = FeedFactory(ctx.model, ctx.tokenizer, ctx.texts, seed)
    ctx.feeds = {cell: factory(cell) for cell in ctx.cells}
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


def reference_outputs(ctx: Context, cell: Cell) -> tuple[str, list[np.ndarray]]:
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


def check_cells(ctx: Context) -> list[Cell]:
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
    source = "data rows" if ctx.texts is not None else "random ids"
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
    samples: dict[tuple[str, Cell], list[float]] = {(n, c): [] for c in ctx.cells for n in timers}
    sizes: dict[tuple[str, Cell], list[int]] = {key: [] for key in samples}
    peaks: dict[tuple[str, Cell], float | None] = dict.fromkeys(samples)
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
    source = "data" if ctx.texts is not None else "random"
    return [CellResult(name, "pytorch" if name == "pytorch" else "onnxruntime", c.batch_size,
                       c.sequence_length, source, tuple(samples[name, c]), peaks[name, c], rounds,
                       getattr(c, "phase", ""), getattr(c, "past_length", 0),   # media cells have neither
                       tuple(sizes[name, c]))
            for name in timers for c in ctx.cells]


Timer = Callable[[Cell, int], tuple[list[float], "float | None"]]


def _onnx_timer(ctx: Context, name: str, fresh: bool) -> Timer:
    if fresh:
        return lambda cell, r: _fresh_round(ctx, name, cell, r)
    if name not in ctx.sessions:
        ctx.sessions[name] = make_session(ctx.variant_paths[name], ctx.settings)
    session = ctx.sessions[name]

    def timer(cell: Cell, r: int) -> tuple[list[float], float | None]:
        with PeakMemory() as mem:
            got = collect_samples(ort_call(session, ctx.feeds[cell]), ctx.timing)
        return got, mem.mib

    return timer


def _torch_timer(ctx: Context) -> Timer:
    from .torch_runner import torch_call

    first = next(iter(ctx.model.outputs))

    def timer(cell: Cell, r: int) -> tuple[list[float], float | None]:
        with PeakMemory() as mem:
            got = collect_samples(torch_call(ctx.torch_module, ctx.feeds[cell], first), ctx.timing)
        return got, mem.mib

    return timer


def _fresh_round(ctx: Context, name: str, cell: Cell, r: int) -> tuple[list[float], float | None]:
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
    chosen = {}
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


def _cell_spec(c: Cell) -> list[Any]:
    return [c.batch_size, c.sequence_length] + ([c.phase, c.past_length] if c.phase else [])


def _profile_summary(view: ProfileView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    return {"rows": view.rows, "model_type": view.model_type, "tokenizer_class": view.tokenizer_class,
            "bucket_edges": list(view.bucket_edges()), "p50": view.quantile(50),
            "p90": view.quantile(90), "p99": view.quantile(99), "dataset": view.dataset,
            "length_counts": {str(k): int(v) for k, v in sorted(view.counts.items())}}


def _progress(enabled: bool, total: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="bench", unit="cell", file=sys.stderr, leave=False,
                disable=not (enabled and sys.stderr.isatty()))
