"""Export driven by an image or audio dataset: profile through the model's preprocessor,
export at the data's sizes (constant axes static), verify on real preprocessed samples, and
with ``bench`` time the export on the profile's batch sizes and sizes with real samples.

``shapeprof export --dataset`` reaches this through :func:`export_with_profile` when the
model is a vision or raw-audio architecture.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ExportError
from ..layout import BENCH_CSV, BENCH_FILE, BENCH_SUMMARY, CONFIG_FILE, PROFILE_FILE

if TYPE_CHECKING:
    from .profiled import ProfiledExport



def media_bounds(profile: Any, dynamic_range: str) -> dict[str, tuple[int, int | None]]:
    """Constant axes always pinned to their size (static); varying ones narrowed only for "data"."""
    static = profile.static_axes()
    return {a: b for a, b in profile.bounds().items() if a in static or dynamic_range == "data"}


def export_with_media_profile(output_dir: str | Path, model: str | Path, dataset: Any, modality: str,
                              task: str | None = None, opset: int | None = None, *,
                              profile_options: Mapping[str, Any] | None = None,
                              dynamic_range: str = "model", bench: bool = False,
                              bench_options: Mapping[str, Any] | None = None,
                              atol: float | None = None, rtol: float | None = None, strict: bool = True,
                              overwrite: bool = False, trust_remote_code: bool = False,
                              progress: bool = True) -> ProfiledExport:
    from .pipeline import export
    from ..loading import load_model
    from ..profile.media import profile_media
    from .profiled import ProfiledExport, _say

    if modality not in ("image", "audio"):
        raise ExportError(f"--dataset drives the export of image and audio models; a {modality} model "
                          "has static image sides and a bounded text length already: export it without "
                          "--dataset (profile its data with 'shapeprof profile')")
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
    bench_results: list[Any] = []

    def write_extras(tmp: Path) -> None:
        profile.save(tmp / PROFILE_FILE)
        if bench:
            _say(progress, "benchmarking in onnxruntime")
            samples = options.get("data_files") or options.get("data_dir") or dataset
            bench_results.append(run_media_bench(tmp, profile, samples, bench_options or {}, progress))

    result = export(loaded, output_dir, opset=opset, trace_shapes=trace, bounds=bounds,
                    data_feeds=[(f"data {label}", feeds) for label, feeds in profile.real_batches()],
                    atol=atol, rtol=rtol, strict=strict, overwrite=overwrite,
                    trust_remote_code=trust_remote_code,
                    extra_files=write_extras,
                    metadata={"profile": {"dataset": dict(profile.dataset),
                                          "static_axes": profile.static_axes(),
                                          "bounds": {a: list(b) for a, b in profile.bounds().items()}}})
    return ProfiledExport(result, profile, bench_results[0] if bench_results else None)  # type: ignore[arg-type]


def run_media_bench(model_dir: Path, profile: Any, samples: Any, options: Mapping[str, Any],
                    progress: bool) -> Any:
    """Bench the fresh export on the profile's sizes with real samples; save JSON, CSV, summary.

    Variants the transformer optimizer cannot build for this architecture are left out.
    """
    from ..bench.media import run_media_benchmark
    from ..bench.variants import OPTIMIZER_MODEL_TYPES

    options = dict(options)
    model_type = json.loads((model_dir / CONFIG_FILE).read_text(encoding="utf-8")).get("model_type")
    asked = tuple(options.get("variants", ("onnx",)))
    if model_type not in OPTIMIZER_MODEL_TYPES:
        options["variants"] = tuple(v for v in asked if not v.startswith("optimized")) or ("onnx",)
    results = run_media_benchmark(model_dir, profile, dataset=samples, progress=progress, **options)
    skipped = [v for v in asked if v not in options.get("variants", asked)]
    if skipped:
        note = (f"variants {', '.join(skipped)} skipped: onnxruntime's transformer optimizer has no "
                f"fusion for {model_type!r}")
        results = dataclasses.replace(results, notes=(*results.notes, note))
    results.save(model_dir / BENCH_FILE)
    results.to_csv(model_dir / BENCH_CSV)
    (model_dir / BENCH_SUMMARY).write_text(results.summary() + "\n", encoding="utf-8")
    return results
