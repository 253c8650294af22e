"""The run's shared machinery, for every modality: the :class:`Context` (which holds any cell
type, :class:`~shapeprof.bench.sweep.SweepCell`), its sessions and timing, the PyTorch model,
the variants and their checks, and the rounds that time every cell per runtime.
"""

from __future__ import annotations

import datetime as _dt
import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BenchError
from .greedy_step import CHAIN, cell_call
from .model_dir import ModelDir, open_model_dir
from .options import BenchOptions
from .reference import ReferenceTimer
from .profile_view import ProfileView
from .results import BenchResults, CellResult
from .runner import (PeakMemory, SessionSettings, TimingPolicy, calling_thread_denormals, collect_samples,
                     collect_timed, make_session)
from .sweep import SweepCell
from .variants import EXACT_ATOL, VariantInfo, build_variant, deviation

CHECK_CELLS = 2     # variants are checked on the smallest and the largest cell
Feeds = dict[str, np.ndarray]
Memory = tuple["float | None", "float | None"]       # (process peak RSS, session growth) MiB
Timer = Callable[[SweepCell, int], tuple[list[float], Memory]]


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
    torch_cells: set[Any] | None = None    # the cells PyTorch is timed at (None: every cell)
    sessions: dict[str, Any] = field(default_factory=dict)
    feeds: dict[SweepCell, Feeds] = field(default_factory=dict)
    torch_module: Any = None
    variant_paths: dict[str, Path] = field(default_factory=dict)
    references: dict[SweepCell, tuple[str, list[np.ndarray]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    reference: ReferenceTimer | None = None  # the reference workload, timed after every cell
    cpu_samples: dict[tuple[str, SweepCell], list[float]] = field(default_factory=dict)

    def variant_session(self, name: str) -> Any:
        """The session of variant ``name`` (built by ``stage_variant``), made once per run."""
        if name not in self.sessions:
            self.sessions[name] = make_session(self.variant_paths[name], self.settings)
        return self.sessions[name]


def as_model_dir(model_dir: str | Path | ModelDir) -> ModelDir:
    return model_dir if isinstance(model_dir, ModelDir) else open_model_dir(model_dir)


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
    with progress_bar(ctx, options, pytorch) as bar:
        cells = measure_all(ctx, names, pytorch, options.fresh_process, options.rounds, bar, after_cell)
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
                        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                        reference=ctx.reference.result() if ctx.reference else None, **more)


def stage_torch(ctx: Context, torch_model: str | Path | None) -> None:
    from .torch_runner import load_torch_model, torch_source

    source = torch_source(ctx.model, torch_model)
    if source is None:
        raise BenchError(f"{str(ctx.model.path)!r} has no PyTorch weights for the eager baseline; "
                         "pass --torch-model with the original model directory, or --no-pytorch")
    ctx.torch_module = load_torch_model(source, ctx.model, ctx.settings.intra_op_threads)


def reference_outputs(ctx: Context, cell: SweepCell) -> tuple[str, list[np.ndarray]]:
    """Outputs to check variants against: PyTorch's, else the exported graph's (cached; the
    exported graph's session is the run's one, made once)."""
    if cell not in ctx.references:
        feeds = ctx.feeds[cell]
        if ctx.torch_module is not None:
            from .torch_runner import torch_output

            outs = [torch_output(ctx.torch_module, feeds, n) for n in ctx.model.outputs]
            ctx.references[cell] = ("pytorch", outs)
        else:
            ctx.variant_paths.setdefault("onnx", ctx.model.onnx_path)
            ctx.references[cell] = ("onnx", ctx.variant_session("onnx").run(list(ctx.model.outputs), feeds))
    return ctx.references[cell]


def check_cells(ctx: Context) -> list[SweepCell]:
    ordered = sorted(ctx.cells, key=lambda c: (c.tokens, c))
    return list(dict.fromkeys([ordered[0], ordered[-1]]))[:CHECK_CELLS]


def stage_variant(ctx: Context, name: str) -> VariantInfo:
    """Build the variant, then compare it with the reference on real rows before timing."""
    path, fused = build_variant(name, ctx.model, ctx.workdir)
    ctx.variant_paths[name] = path
    session = ctx.variant_session(name)
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
    ``after_cell(r, i)`` runs after cell ``i`` of round ``r`` (a slice of the replay passes);
    a slice of the reference workload follows every cell too (shapeprof.bench.reference).
    """
    timers = {name: _onnx_timer(ctx, name, fresh) for name in names}
    if pytorch:
        timers["pytorch"] = _torch_timer(ctx)
    order = list(timers)
    samples: dict[tuple[str, SweepCell], list[float]] = {(n, c): [] for c in ctx.cells for n in timers
                                                         if times(ctx, n, c)}
    sizes: dict[tuple[str, SweepCell], list[int]] = {key: [] for key in samples}
    memory: dict[tuple[str, SweepCell], list[tuple[float | None, float | None]]] = {k: [] for k in samples}
    ctx.reference = ctx.reference or ReferenceTimer(ctx.settings)
    for r in range(rounds):
        for i, cell in enumerate(ctx.cells):
            for name in order[r % len(order):] + order[:r % len(order)]:
                if not times(ctx, name, cell):
                    continue
                bar.update(0, now=f"round {r + 1}/{rounds}, cell {i + 1}/{len(ctx.cells)} {cell.label} {name}")
                got, mem = timers[name](cell, r)
                samples[name, cell] += got
                sizes[name, cell].append(len(got))
                memory[name, cell].append(mem)
                bar.update(work(cell))
            ctx.reference.time(r)
            if after_cell is not None:
                after_cell(r, i)
    return [CellResult(name, "pytorch" if name == "pytorch" else "onnxruntime", c.batch_size,
                       c.sequence_length, ctx.source, tuple(samples[name, c]), _largest(memory[name, c], 1),
                       rounds, c.phase, c.past_length, tuple(sizes[name, c]), _largest(memory[name, c], 0),
                       _cpu(ctx, name, c, len(samples[name, c])))
            for name in timers for c in ctx.cells if times(ctx, name, c)]


def _cpu(ctx: Context, name: str, cell: SweepCell, count: int) -> tuple[float, ...]:
    """The cell's CPU-time samples when every sample has one (in-process onnxruntime, 1 thread)."""
    got = ctx.cpu_samples.get((name, cell), [])
    return tuple(got) if len(got) == count else ()


def times(ctx: Context, runtime: str, cell: SweepCell) -> bool:
    """Whether ``runtime`` is timed at ``cell`` (PyTorch may be limited to some cells)."""
    return runtime != "pytorch" or ctx.torch_cells is None or cell in ctx.torch_cells


def work(cell: SweepCell) -> int:
    """A cell's share of the timing work, for ETAs: its tokens plus a fixed per-call overhead."""
    return cell.tokens + 64


def _largest(values: Sequence[tuple[float | None, float | None]], i: int) -> float | None:
    """The largest of the i-th memory figure over rounds (None if never measured)."""
    found = [v[i] for v in values if v[i] is not None]
    return max(found) if found else None


def _onnx_timer(ctx: Context, name: str, fresh: bool) -> Timer:
    if fresh:
        return lambda cell, r: _fresh_round(ctx, name, cell, r)
    session = ctx.variant_session(name)

    def timer(cell: SweepCell, r: int) -> tuple[list[float], Memory]:
        one_thread = ctx.settings.intra_op_threads == 1    # else the pool's threads work unseen here
        with PeakMemory() as mem:
            call, reset = cell_call(session, ctx.feeds[cell], getattr(cell, "phase", ""))
            got, cpu = collect_timed(call, ctx.timing, reset, CHAIN, cpu=one_thread)
        if one_thread:
            ctx.cpu_samples.setdefault((name, cell), []).extend(cpu)
        return got, mem.both

    return timer


def _torch_timer(ctx: Context) -> Timer:
    from .torch_runner import torch_call

    first = next(iter(ctx.model.outputs))

    def timer(cell: SweepCell, r: int) -> tuple[list[float], Memory]:
        with PeakMemory() as mem:
            got = collect_samples(torch_call(ctx.torch_module, ctx.feeds[cell], first), ctx.timing)
        return got, mem.both

    return timer


def _fresh_round(ctx: Context, name: str, cell: SweepCell, r: int) -> tuple[list[float], Memory]:
    from .worker import run_in_subprocess

    feeds_path = ctx.workdir / f"feeds-{cell.label}.npz"
    if not feeds_path.exists():
        np.savez(feeds_path, **ctx.feeds[cell])
    spec = {"onnx": str(ctx.variant_paths[name]), "settings": ctx.settings.to_dict(),
            "policy": ctx.timing.to_dict(), "feeds": str(feeds_path), "phase": getattr(cell, "phase", "")}
    spec_path = ctx.workdir / f"spec-{name}-{cell.label}-{r}.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    result = run_in_subprocess(spec_path)
    return [float(s) for s in result["samples_ms"]], (result.get("process_peak_rss_mib"),
                                                       result.get("session_growth_mib"))


def progress_bar(ctx: Context, options: BenchOptions, pytorch: bool) -> Any:
    """Progress over rounds x cells x runtimes, weighted by each cell's tokens (ETAs hold from the
    first cell on); the replay passes run inside the same rounds."""
    from ..console import progress

    runtimes = [*options.variants, *(["pytorch"] if pytorch else [])]
    total = options.rounds * sum(work(c) for c in ctx.cells for n in runtimes if times(ctx, n, c))
    return progress(total, "bench", enabled=options.progress, percent=True)
