"""``run_media_benchmark``: an exported image or audio model swept like text.

Cells are batch size x image size (height x width) or batch size x audio length; sizes come
from an image/audio profile (``shapeprof profile`` with a vision or audio model), else from
the export. Feeds are real samples of the profile's dataset (or ``dataset``) through the
model's own preprocessor, else realistic dummies. Timing, variants and the PyTorch baseline
are the text benchmark's stages, and the results are the same :class:`BenchResults`: each
:class:`CellResult`'s ``sequence_length`` is the elements per sample (height*width pixels, or
audio samples), and ``settings["cells"]`` lists the full shapes.
"""

from __future__ import annotations

import datetime as _dt
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import BenchError
from .media_inputs import (MediaFeedFactory, check_media_profile, load_media_profile,
                           media_modality_of, model_processor, open_samples)
from .media_sweep import AXES, design_media_sweep
from .model_dir import open_model_dir
from .results import BenchResults
from .runner import SessionSettings, TimingPolicy, calling_thread_denormals, physical_cores
from .variants import check_variant_names


def is_media_model_dir(model_dir: str | Path) -> bool:
    """True when MODEL_DIR is an exported image or audio model (a cheap check, no ONNX load)."""
    try:
        return media_modality_of(open_model_dir(model_dir)) is not None
    except BenchError:
        return False  # the text path reports the problem in its own words


def run_media_benchmark(
    model_dir: str | Path,
    profile: Any = None,
    *,
    batch_sizes: Iterable[int] | None = None,
    sizes: Iterable[Sequence[int] | int] | None = None,
    dataset: Any = None,
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
    seed: int = 0,
    progress: bool = True,
    flush_denormals: bool = True,
) -> BenchResults:
    """Benchmark the exported image/audio model in MODEL_DIR with onnxruntime (and PyTorch).

    ``profile``: a MediaProfile, its JSON mapping or path (sizes, batch sizes, real samples).
    ``sizes``: (height, width) pairs or audio lengths, overriding the profile's.
    ``dataset``: a folder, files or ``datasets.Dataset`` to draw real samples from.
    """
    from . import benchmark as text

    model = open_model_dir(model_dir)
    modality = media_modality_of(model)
    if modality is None:
        raise BenchError(f"{str(model_dir)!r} is not an image or audio model (inputs: "
                         f"{', '.join(model.inputs)}); use run_benchmark")
    if rounds < 1 or min_samples < 1 or warmup < 0 or min_time_s < 0:
        raise BenchError("rounds and min_samples must be >= 1, warmup and min_time_s >= 0")
    media_profile = load_media_profile(profile) if profile is not None else None
    if profile is not None and media_profile is None:
        raise BenchError(f"the profile is a text profile but {str(model.path)!r} is an {modality} "
                         f"model; profile an {modality} dataset with 'shapeprof profile --model MODEL_DIR'")
    processor = model_processor(model, modality)
    if media_profile is not None:
        check_media_profile(media_profile, model, modality, processor)
    samples = open_samples(dataset, media_profile, modality)
    names = check_variant_names(list(variants))
    threads = int(intra_op_threads or physical_cores())
    with (tempfile.TemporaryDirectory(prefix="shapeprof-bench-") as tmp,
          calling_thread_denormals(flush_denormals)):
        ctx = text.Context(model, SessionSettings(tuple(providers), graph_optimization, threads,
                                                  flush_denormals=flush_denormals),
                           TimingPolicy(warmup, min_samples, min_time_s), Path(tmp))
        ctx.cells = design_media_sweep(model, modality, media_profile, batch_sizes, sizes)  # type: ignore[assignment]
        factory = MediaFeedFactory(model, modality, samples, processor, seed)
        ctx.feeds = {cell: factory(cell) for cell in ctx.cells}  # type: ignore[misc]
        ctx.texts = samples  # the text stages read "real data" from this being set
        if samples is None and media_profile is not None:
            ctx.notes.append("the profile's dataset cannot be reopened (an in-memory dataset); "
                             "timed on dummy inputs at the profile's sizes")
        if pytorch:
            text.stage_torch(ctx, torch_model)
        infos = [text.stage_variant(ctx, name) for name in names]
        bar = text._progress(progress, len(ctx.cells) * (len(names) + bool(pytorch)))
        cells = text.measure_all(ctx, names, pytorch, fresh_process, rounds, bar)
        bar.close()
    settings = {**ctx.settings.to_dict(), **ctx.timing.to_dict(), "fresh_process": fresh_process,
                "rounds": rounds, "variants": list(names), "pytorch": pytorch, "modality": modality,
                "axes": ["batch_size", *AXES[modality]],
                "cells": [[c.batch_size, *c.sizes] for c in ctx.cells],  # type: ignore[attr-defined]
                "input_source": factory.source, "profile": _profile_summary(media_profile)}
    from .env import capture_environment

    return BenchResults(model.summary(), settings, capture_environment(threads), tuple(infos),
                        tuple(cells), (), (), tuple(ctx.notes),
                        _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))


def _profile_summary(profile: Any) -> dict[str, Any] | None:
    if profile is None:
        return None
    return {"modality": profile.modality, "dataset": dict(profile.dataset),
            "processor_class": profile.model.get("processor_class"),
            "static_axes": profile.static_axes(),
            "axes": {a: {"min": s.min, "p50": s.p(50), "p90": s.p(90), "p99": s.p(99), "max": s.max}
                     for a, s in profile.axes.items()}}

