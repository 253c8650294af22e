"""Export driven by a dataset: profile, export at the data's shapes, verify on real rows, bench.

``export_with_profile`` is what ``shapeprof export --dataset ...`` runs. Every artefact
(model, profile, verification report, benchmark results) is written into one output
directory, which appears only when every step has succeeded.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ExportError
from ..layout import BENCH_CSV, BENCH_FILE, BENCH_SUMMARY, PROFILE_FILE

if TYPE_CHECKING:
    import numpy as np

    from ..bench.results import BenchResults
    from .pipeline import ExportResult
    from ..onnx.base import OnnxConfig
    from ..profile.shape_profile import ShapeProfile

TEXT_AXES = ("batch_size", "sequence_length")
RANGES = ("model", "data")


@dataclass(frozen=True)
class ProfiledExport:
    """What ``export_with_profile`` produced."""

    export: ExportResult
    profile: ShapeProfile
    bench: BenchResults | None = None


def export_with_profile(
    output_dir: str | Path,
    model: str | Path | None = None,
    dataset: str = "glue",
    task: str | None = None,
    opset: int | None = None,
    *,
    profile_options: Mapping[str, Any] | None = None,
    dynamic_range: str = "model",
    bench: bool = False,
    bench_options: Mapping[str, Any] | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    strict: bool = True,
    overwrite: bool = False,
    trust_remote_code: bool = False,
    progress: bool = True,
) -> ProfiledExport:
    """Profile ``dataset`` with ``model``'s tokenizer, export, verify on real batches, optionally bench.

    ``profile_options`` go to :func:`shapeprof.profile.profile_dataset` (data_dir, split,
    rows, ...). ``dynamic_range`` "model" keeps the sequence axis open up to the model's
    limit; "data" narrows it to the profile's min..max. For a GLUE dataset without
    ``task`` the model gets a text-classification head with the task's label count.
    """
    from ..atomic import check_output_dir
    from .pipeline import export
    from ..loading import load_model
    from ..default_model import default_model_dir
    from ..profile import profile_dataset
    from ..profile.pipeline import check_arguments

    if dynamic_range not in RANGES:
        raise ExportError(f"dynamic range {dynamic_range!r} is unknown; choose one of {', '.join(RANGES)}")
    options = dict(profile_options or {})
    check_arguments(options.get("rows"), options.get("batch_sizes", (1, 8, 32)), options.get("buckets"))
    output_dir = Path(output_dir)
    check_output_dir(output_dir, overwrite, ExportError)
    model = default_model_dir() if model is None else model
    from ..profile.media import media_modality

    modality = media_modality(model)
    if modality is not None:  # images and audio: sizes through the model's preprocessor
        from .profiled_media import export_with_media_profile

        return export_with_media_profile(output_dir, model, dataset, modality, task, opset,
                                         profile_options=options, dynamic_range=dynamic_range,
                                         bench=bench, bench_options=bench_options, atol=atol,
                                         rtol=rtol, strict=strict,
                                         overwrite=overwrite, trust_remote_code=trust_remote_code,
                                         progress=progress)
    task, model_kwargs = glue_head(dataset, task)

    _say(progress, f"profiling {dataset} with the tokenizer of {model}")
    profile = profile_dataset(model, dataset, progress=progress, **options)
    loaded = load_model(model, task, model_kwargs=model_kwargs, trust_remote_code=trust_remote_code)
    cfg = loaded.onnx_config
    check_text_axes(cfg)
    feeds = [(f"data {label}", adapt_feeds(cfg, f)) for label, f in profile.real_batches()]
    bounds = {k: v for k, v in profile.bounds().items() if dynamic_range == "data"}
    bench_results: list[BenchResults] = []

    def write_extras(tmp: Path) -> None:
        profile.save(tmp / PROFILE_FILE)
        if bench:
            _say(progress, "benchmarking in onnxruntime")
            bench_results.append(run_bench(tmp, profile, bench_options or {}, progress))

    _say(progress, f"exporting {cfg.MODEL_TYPE} ({cfg.task}) traced at "
         + " x ".join(f"{a}={n}" for a, n in profile.trace_shapes().items()))
    result = export(loaded, output_dir, opset=opset, trace_shapes=profile.trace_shapes(),
                    bounds=bounds, data_feeds=feeds, atol=atol, rtol=rtol, strict=strict,
                    overwrite=overwrite, trust_remote_code=trust_remote_code,
                    extra_files=write_extras, metadata={"profile": profile_metadata(profile, cfg)})
    return ProfiledExport(result, profile, bench_results[0] if bench_results else None)


def glue_head(dataset: str, task: str | None) -> tuple[str | None, dict[str, Any]]:
    """GLUE defaults: text-classification with the GLUE task's number of labels."""
    from ..data.glue import glue_task
    from ..onnx.tasks import normalize_task

    lowered = dataset.lower()
    if lowered != "glue" and not lowered.startswith("glue/"):
        return task, {}
    glue = glue_task(dataset.split("/", 1)[1] if "/" in dataset else None)
    task = "text-classification" if task is None else normalize_task(task)
    if task != "text-classification":
        return task, {}
    return task, {"num_labels": glue.num_labels}


def check_text_axes(cfg: OnnxConfig) -> None:
    """Profiles describe (batch, sequence) text; other input axes cannot come from them."""
    other = sorted({a for axes in cfg.inputs.values() for a in axes.values()} - set(TEXT_AXES))
    if other:
        raise ExportError(f"a dataset profile gives batch and sequence sizes, but {cfg.MODEL_TYPE} "
                          f"({cfg.task}) also has the axes {', '.join(other)}; export it without --dataset")


def adapt_feeds(cfg: OnnxConfig, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The tokenizer's arrays in the config's input order; zero token types when it gives none."""
    import numpy as np

    out = {}
    for name in cfg.inputs:
        if name in feeds:
            out[name] = feeds[name]
        elif name == "token_type_ids":
            out[name] = np.zeros_like(feeds["input_ids"])
        else:
            raise ExportError(f"the tokenizer gives no {name!r}, which {cfg.MODEL_TYPE} needs; "
                              "use the model's own tokenizer")
    return out


def profile_metadata(profile: ShapeProfile, cfg: OnnxConfig) -> dict[str, Any]:
    """min/opt/max per axis and the TensorRT forms, keyed to the exported input names."""
    names = list(cfg.inputs)
    return {
        "dataset": profile.dataset.to_dict(),
        "shape_ranges": {a: r.to_dict() for a, r in profile.shape_ranges().items()},
        "trtexec": profile.trtexec_args(names),
        "ort_trt_options": profile.ort_trt_options(names),
    }


def run_bench(model_dir: Path, profile: ShapeProfile, options: Mapping[str, Any],
              progress: bool) -> BenchResults:
    """Benchmark the fresh export on the profile's grid; save JSON, CSV and the summary."""
    from ..bench.benchmark import run_benchmark

    results = run_benchmark(model_dir, profile, progress=progress, **dict(options))
    results.save(model_dir / BENCH_FILE)
    results.to_csv(model_dir / BENCH_CSV)
    (model_dir / BENCH_SUMMARY).write_text(results.summary() + "\n", encoding="utf-8")
    return results


def _say(enabled: bool, message: str) -> None:
    if enabled:
        print(f"shapeprof: {message}", file=sys.stderr, flush=True)

