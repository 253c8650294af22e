"""Export driven by an image or audio dataset: profile through the model's preprocessor,
export at the data's sizes (constant axes static), verify on real preprocessed samples.

``shapeprof export --dataset`` reaches this through :func:`export_with_profile` when the
model is a vision or raw-audio architecture.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ExportError

if TYPE_CHECKING:
    from .profiled_export import ProfiledExport

PROFILE_FILE = "profile.json"


def media_bounds(profile: Any, dynamic_range: str) -> dict[str, tuple[int, int | None]]:
    """Constant axes always pinned to their size (static); varying ones narrowed only for "data"."""
    static = profile.static_axes()
    return {a: b for a, b in profile.bounds().items() if a in static or dynamic_range == "data"}


def export_with_media_profile(output_dir: str | Path, model: str | Path, dataset: Any, modality: str,
                              task: str | None = None, opset: int | None = None, *,
                              profile_options: Mapping[str, Any] | None = None,
                              dynamic_range: str = "model", bench: bool = False,
                              atol: float | None = None, rtol: float | None = None, strict: bool = True,
                              overwrite: bool = False, trust_remote_code: bool = False,
                              progress: bool = True) -> ProfiledExport:
    from .export import export
    from .loading import load_model
    from .profile.media import profile_media
    from .profiled_export import ProfiledExport, _say

    if bench:
        raise ExportError("--bench sweeps text shapes only so far; export the image/audio model "
                          "without --bench and run `shapeprof bench` on it")
    options = dict(profile_options or {})
    unsupported = [k for k in ("text_columns", "buckets") if options.get(k) is not None]
    if unsupported:
        raise ExportError(f"{', '.join(unsupported)} apply to text datasets; drop them for {modality} data")
    _say(progress, f"profiling {modality} dataset {dataset} with the preprocessor of {model}")
    profile = profile_media(model, options.get("data_dir") or dataset, modality,
                            data_files=options.get("data_files"), split=options.get("split"),
                            rows=options.get("rows"), seed=options.get("seed", 0),
                            batch_sizes=options.get("batch_sizes", (1, 8, 32)), progress=progress)
    loaded = load_model(model, task, trust_remote_code=trust_remote_code)
    axes = {a for spec in loaded.onnx_config.inputs.values() for a in spec.values()}
    missing = sorted(set(profile.axes) - axes)
    if missing:
        raise ExportError(f"the profile has axes {', '.join(missing)} that {loaded.model_type} "
                          f"({loaded.task}) does not take; profile it with its own modality")
    bounds = media_bounds(profile, dynamic_range)
    trace = {a: n for a, n in profile.trace_shapes().items() if a in axes}
    result = export(loaded, output_dir, opset=opset, trace_shapes=trace, bounds=bounds,
                    data_feeds=[(f"data {label}", feeds) for label, feeds in profile.real_batches()],
                    atol=atol, rtol=rtol, strict=strict, overwrite=overwrite,
                    trust_remote_code=trust_remote_code,
                    extra_files=lambda tmp: profile.save(tmp / PROFILE_FILE),
                    metadata={"profile": {"dataset": dict(profile.dataset),
                                          "static_axes": profile.static_axes(),
                                          "bounds": {a: list(b) for a, b in profile.bounds().items()}}})
    return ProfiledExport(result, profile)  # type: ignore[arg-type]
