"""``run_media_benchmark``: an exported image or audio model swept like text.

Cells are batch size x image size (height x width) or batch size x audio length; sizes come
from an image/audio profile (``shapeprof profile`` with a vision or audio model), else from
the export. Feeds are real samples of the profile's dataset (or ``data``) through the
model's own preprocessor, else realistic dummies. ``run_benchmark`` sends image and audio models
here; timing, variants and the PyTorch baseline are the shared stages of ``bench.context``,
and the results are the same :class:`BenchResults`: each
:class:`CellResult`'s ``sequence_length`` is the elements per sample (height*width pixels, or
audio samples), and ``settings["cells"]`` lists the full shapes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import BenchError
from .context import as_model_dir, bench_context, common_settings, make_results, time_cells
from .media_inputs import MediaFeedFactory, check_media_profile, load_media_profile, model_processor, open_samples
from .media_sweep import AXES, design_media_sweep
from .model_dir import ModelDir
from .options import BenchOptions, flag
from .results import BenchResults


def run_media_benchmark(model_dir: str | Path | ModelDir, profile: Any = None,
                        options: BenchOptions | None = None, *, data: Any = None) -> BenchResults:
    """Benchmark the exported image/audio model in MODEL_DIR with onnxruntime (and PyTorch).

    ``profile``: a MediaProfile, its JSON mapping or path (sizes, batch sizes, real samples).
    ``options.image_sizes`` (images) or ``options.sequence_lengths`` (audio samples) override the
    profile's sizes. ``data``: a folder, files or ``datasets.Dataset`` to draw real samples from.
    """
    from ..modality import MEDIA, modality_of

    options = options if options is not None else BenchOptions()
    model = as_model_dir(model_dir)
    modality = modality_of(model)
    if modality not in MEDIA:
        raise BenchError(f"{str(model.path)!r} is not an image or audio model (inputs: "
                         f"{', '.join(model.inputs)}); use run_benchmark")
    sizes = media_sizes(options, modality)
    media_profile = load_media_profile(profile) if profile is not None else None
    if profile is not None and media_profile is None:
        raise BenchError(f"the profile is a text profile but {str(model.path)!r} is an {modality} "
                         f"model; profile an {modality} dataset with 'shapeprof profile --model MODEL_DIR'")
    processor = model_processor(model, modality)
    if media_profile is not None:
        check_media_profile(media_profile, model, modality, processor)
    samples = open_samples(data, media_profile, modality)
    with bench_context(model, options) as ctx:
        cells = design_media_sweep(model, modality, media_profile, options.batch_sizes, sizes)
        factory = MediaFeedFactory(model, modality, samples, processor, options.seed)
        ctx.cells, ctx.feeds, ctx.source = cells, {c: factory(c) for c in cells}, factory.source
        if samples is None and media_profile is not None:
            ctx.notes.append("the profile's dataset cannot be reopened (an in-memory dataset); "
                             "timed on dummy inputs at the profile's sizes")
        infos, measured = time_cells(ctx, options, options.pytorch)
    settings = {**common_settings(ctx, options, options.pytorch), "modality": modality,
                "axes": ["batch_size", *AXES[modality]], "profile": _profile_summary(media_profile)}
    return make_results(ctx, settings, infos, measured)


def media_sizes(options: BenchOptions, modality: str) -> tuple[tuple[int, ...], ...] | None:
    """The sizes the options give for this modality; text-only options and the other
    modality's sizes are refused in one line."""
    text_only = [flag(name) for name in options.text_only_given()]
    if text_only:
        raise BenchError(f"{', '.join(text_only)} apply to text models (padding policies); drop them "
                         "for an image or audio model")
    mine, other = ("image_sizes", "sequence_lengths") if modality == "image" else \
        ("sequence_lengths", "image_sizes")
    if getattr(options, other) is not None:
        raise BenchError(f"{flag(other)} does not apply to an {modality} model; give {flag(mine)}")
    given = getattr(options, mine)
    return None if given is None else tuple((n,) if isinstance(n, int) else tuple(n) for n in given)


def _profile_summary(profile: Any) -> dict[str, Any] | None:
    if profile is None:
        return None
    return {"modality": profile.modality, "dataset": dict(profile.dataset),
            "processor_class": profile.model.get("processor_class"),
            "static_axes": profile.static_axes(),
            "axes": {a: {"min": s.min, "p50": s.p(50), "p90": s.p(90), "p99": s.p(99), "max": s.max}
                     for a, s in profile.axes.items()}}

