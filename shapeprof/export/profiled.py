"""Export driven by a dataset: profile, export at the data's shapes, verify on real data, bench.

``export_with_profile`` is what ``shapeprof export --dataset ...`` runs, for every modality the
profile supports: text goes through the model's tokenizer, images and audio through its
preprocessor (``modality_of`` decides), and the stages read the result through the
:class:`~shapeprof.profile.protocol.Profile` protocol only. Every artefact (model, profile,
verification report, benchmark results) is written into one output directory, which appears only
when every step has succeeded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..console import say
from ..errors import ExportError
from ..layout import PROFILE_FILE

if TYPE_CHECKING:
    import numpy as np

    from ..bench.options import BenchOptions
    from ..bench.results import BenchResults
    from ..onnx.base import OnnxConfig
    from ..profile.protocol import Profile
    from ..tune.options import TuneOptions
    from ..tune.result import TuneResult
    from .pipeline import ExportResult

TEXT_AXES = ("batch_size", "sequence_length")
RANGES = ("model", "data")
EXPORTABLE = ("text", "image", "audio")          # modalities a dataset can drive the export of
TEXT_ONLY_OPTIONS = ("text_columns", "buckets", "prompt_columns", "completion_column", "chat_template")
PAST_AXES = ("past_sequence_length", "past_sequence_length + sequence_length")   # generation profiles


@dataclass(frozen=True)
class ProfiledExport:
    """What ``export_with_profile`` produced."""

    export: ExportResult
    profile: Profile
    bench: BenchResults | None = None
    tune: TuneResult | None = None


def export_with_profile(
    output_dir: str | Path,
    model: str | Path | None = None,
    dataset: Any = "glue",
    task: str | None = None,
    opset: int | None = None,
    *,
    profile_options: Mapping[str, Any] | None = None,
    dynamic_range: str = "model",
    bench: bool = False,
    bench_options: BenchOptions | Mapping[str, Any] | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    strict: bool = True,
    overwrite: bool = False,
    trust_remote_code: bool = False,
    progress: bool = True,
    config: str | None = None,
    tune: TuneOptions | None = None,
) -> ProfiledExport:
    """Profile ``dataset`` through ``model``'s tokenizer or preprocessor, export at its shapes,
    verify on real batches, and with ``bench`` benchmark the export on the profile's grid.

    ``profile_options`` go to :func:`shapeprof.profile.profile_dataset` (data_dir, split, rows,
    ...). ``dynamic_range`` "model" keeps the varying axes open up to the model's limits; "data"
    narrows them to the profile's min..max (axes constant over the data are always static). For
    a GLUE dataset without ``task`` the model gets a text-classification head with the task's
    label count. ``bench_options`` is a :class:`BenchOptions` or a mapping of its fields.
    ``config`` chooses the ONNX config as in :func:`shapeprof.export.export`. With ``tune`` (a
    :class:`~shapeprof.tune.TuneOptions`), ``shapeprof tune`` runs on the fresh export and writes
    OUTPUT_DIR/tune/ (text data only).
    """
    from ..default_model import default_model_dir
    from ..loading import load_model
    from ..modality import modality_of
    from ..profile import profile_dataset
    from .pipeline import export

    options = dict(profile_options or {})
    output_dir = Path(output_dir)
    check_first(dynamic_range, options, output_dir, overwrite)
    timing = _bench_options(bench_options, progress) if bench else None
    model = default_model_dir() if model is None else model
    modality = modality_of(model)
    check_modality(modality, options)
    task, model_kwargs = glue_head(dataset, task) if isinstance(dataset, str) else (task, {})

    say(progress, f"profiling {_what(modality, dataset)} with the "
        f"{'tokenizer' if modality == 'text' else 'preprocessor'} of {model}")
    profile = profile_dataset(model, dataset, progress=progress, **options)
    loaded = load_model(model, task, model_kwargs=model_kwargs, trust_remote_code=trust_remote_code,
                        config=config)
    cfg = loaded.onnx_config
    check_axes(profile, cfg)
    taken = config_axes(cfg)
    trace = {a: n for a, n in profile.trace_shapes().items() if a in taken}
    bench_results: list[BenchResults] = []
    tuned: list[TuneResult] = []
    if tune is not None and modality != "text":
        raise ExportError(f"--tune chooses deployments for text models; this is a {modality} model")

    def write_extras(tmp: Path) -> None:
        profile.save(tmp / PROFILE_FILE)
        if timing is not None:
            grid = "quick grid" if timing.grid == "quick" else "full grid"
            say(progress, f"benchmarking in onnxruntime ({grid}: {', '.join(timing.variants)}"
                f"{' and PyTorch' if timing.pytorch else ''}, {timing.rounds} rounds)")
            bench_results.append(run_bench(tmp, profile, timing, bench_data(modality, dataset, options)))
        if tune is not None:
            tuned.append(run_tune(tmp, tune.replace(progress=progress)))

    say(progress, f"exporting {cfg.MODEL_TYPE} ({cfg.task}) traced at "
        + " x ".join(f"{a}={n}" for a, n in trace.items()))
    result = export(loaded, output_dir, opset=opset, trace_shapes=trace,
                    bounds=profile_bounds(profile, dynamic_range),
                    data_feeds=data_feeds(profile, cfg),
                    atol=atol, rtol=rtol, strict=strict, overwrite=overwrite,
                    trust_remote_code=trust_remote_code, extra_files=write_extras,
                    metadata={"profile": profile_metadata(profile, cfg)}, progress=progress)
    return ProfiledExport(result, profile, bench_results[0] if bench_results else None,
                          tuned[0] if tuned else None)


# ---- checks ------------------------------------------------------------------------------------
def check_first(dynamic_range: str, options: Mapping[str, Any], output_dir: Path, overwrite: bool) -> None:
    """What can be checked before any model or data is loaded."""
    from ..atomic import check_output_dir
    from ..profile.pipeline import check_arguments

    if dynamic_range not in RANGES:
        raise ExportError(f"dynamic range {dynamic_range!r} is unknown; choose one of {', '.join(RANGES)}")
    check_arguments(options.get("rows"), options.get("batch_sizes", (1, 8, 32)), options.get("buckets"))
    check_output_dir(output_dir, overwrite, ExportError)


def check_modality(modality: str, options: Mapping[str, Any]) -> None:
    """Only text, image and audio data drive an export; text-only options need text data."""
    if modality not in EXPORTABLE:
        raise ExportError(f"--dataset drives the export of text, image and audio models; a {modality} "
                          "model has static image sides and a bounded text length already: export it "
                          "without --dataset (profile its data with 'shapeprof profile')")
    unsupported = [k for k in TEXT_ONLY_OPTIONS if modality != "text" and options.get(k) is not None]
    if unsupported:
        raise ExportError(f"{', '.join(unsupported)} apply to text datasets; drop them for {modality} data")


def config_axes(cfg: OnnxConfig) -> set[str]:
    return {a for axes in cfg.inputs.values() for a in axes.values()}


def check_axes(profile: Profile, cfg: OnnxConfig) -> None:
    """The profile and the model must describe the same axes (batch size aside)."""
    taken = config_axes(cfg)
    extra = sorted(set(profile.axes) - taken)
    if extra:
        raise ExportError(f"the profile has axes {', '.join(extra)} that {cfg.MODEL_TYPE} "
                          f"({cfg.task}) does not take; profile it with its own modality")
    if profile.modality == "text":
        check_text_axes(cfg, getattr(profile, "generation", None) is not None)


def check_text_axes(cfg: OnnxConfig, generation: bool = False) -> None:
    """Text profiles describe (batch, sequence); other input axes cannot come from them, except
    the cache's of a decoder with past when the profile is of prompts (a chat dataset)."""
    other = sorted(config_axes(cfg) - set(TEXT_AXES) - set(PAST_AXES if generation else ()))
    if other:
        hint = (" (a decoder with past takes a chat dataset: --prompt-columns/--completion-column or "
                "a messages column)" if set(other) <= set(PAST_AXES) else "")
        raise ExportError(f"a dataset profile gives batch and sequence sizes, but {cfg.MODEL_TYPE} "
                          f"({cfg.task}) also has the axes {', '.join(other)}; export it without "
                          f"--dataset{hint}")


# ---- what the export takes from the profile ---------------------------------------------------
def profile_bounds(profile: Profile, dynamic_range: str) -> dict[str, tuple[int, int | None]]:
    """Axes constant over the data always pinned (static); varying ones narrowed only for "data"."""
    static = profile.static_axes()
    return {a: b for a, b in profile.bounds().items() if a in static or dynamic_range == "data"}


def adapt_feeds(cfg: OnnxConfig, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The real arrays in the config's input order; zero token types when a tokenizer gives none."""
    import numpy as np

    out = {}
    for name in cfg.inputs:
        if name in feeds:
            out[name] = feeds[name]
        elif name == "token_type_ids" and "input_ids" in feeds:
            out[name] = np.zeros_like(feeds["input_ids"])
        else:
            raise ExportError(f"the tokenizer or preprocessor gives no {name!r}, which "
                              f"{cfg.MODEL_TYPE} needs; use the model's own")
    return out


def data_feeds(profile: Profile, cfg: OnnxConfig) -> list[tuple[str, dict[str, np.ndarray]]]:
    """The profile's real batches (min, opt, max), labelled and in the config's input order.

    A decoder with past gets the real prompt ids after a cache of the dummy generator's (its
    mask and positions), as one decode call after a past sees them."""
    batches = profile.real_batches()
    if any(name.startswith("past_key_values") for name in cfg.inputs):
        return [(f"data {label}", with_cache(cfg, feeds)) for label, feeds in batches]
    return [(f"data {label}", adapt_feeds(cfg, feeds)) for label, feeds in batches]


def with_cache(cfg: OnnxConfig, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The dummy inputs at the batch's shape (past at the config's default), real input ids."""
    b, n = feeds["input_ids"].shape
    past = int(cfg.default_axis_sizes().get("past_sequence_length", 8))
    dummy = cfg.generate_dummy_inputs("np", batch_size=int(b), sequence_length=int(n),
                                      past_sequence_length=past)
    dummy["input_ids"] = feeds["input_ids"].astype(dummy["input_ids"].dtype)
    return {name: dummy[name] for name in cfg.inputs}


def profile_metadata(profile: Profile, cfg: OnnxConfig) -> dict[str, Any]:
    """What the export records about the profile: ranges per axis, plus the TensorRT forms
    (keyed to the exported input names) for a text profile."""
    from ..profile.shape_profile import ShapeProfile

    if isinstance(profile, ShapeProfile):
        names = list(cfg.inputs)
        return {"dataset": profile.dataset.to_dict(),
                "shape_ranges": {a: r.to_dict() for a, r in profile.shape_ranges().items()},
                "trtexec": profile.trtexec_args(names),
                "ort_trt_options": profile.ort_trt_options(names)}
    return {"dataset": dict(getattr(profile, "dataset", {})), "static_axes": profile.static_axes(),
            "bounds": {a: list(b) for a, b in profile.bounds().items()}}


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


# ---- the benchmark ------------------------------------------------------------------------------
def bench_data(modality: str, dataset: Any, options: Mapping[str, Any]) -> Any:
    """Real inputs for the bench: a text profile brings its rows; media samples are reopened."""
    if modality == "text":
        return None
    return options.get("data_files") or options.get("data_dir") or dataset


def run_bench(model_dir: Path, profile: Profile, options: BenchOptions, data: Any = None) -> BenchResults:
    """Benchmark the fresh export on the profile's grid; write bench.json, bench.csv, bench.md.

    Variants the transformer optimizer cannot build for this architecture are left out, with a note.
    """
    from ..bench.benchmark import run_benchmark
    from ..bench.model_dir import open_model_dir
    from ..bench.variants import OPTIMIZER_MODEL_TYPES

    model_type = open_model_dir(model_dir).model_type
    asked = options.variants
    if model_type not in OPTIMIZER_MODEL_TYPES:
        kept = tuple(v for v in asked if not v.startswith("optimized")) or ("onnx",)
        options = options.replace(variants=kept)
    results = run_benchmark(model_dir, profile, options, data=data)
    skipped = [v for v in asked if v not in options.variants]
    if skipped:
        note = (f"variants {', '.join(skipped)} skipped: onnxruntime's transformer optimizer has no "
                f"fusion for {model_type!r}")
        results = dataclasses.replace(results, notes=(*results.notes, note))
    results.write_all(model_dir)
    return results


def run_tune(model_dir: Path, options: TuneOptions) -> TuneResult:
    """``shapeprof tune`` on the fresh export and its profile, into MODEL_DIR/tune/."""
    from ..layout import TUNE_DIR
    from ..tune import tune

    say(options.progress, "tuning the deployment (variants, batching, batch size, threads; proof by replay)")
    return tune(model_dir, model_dir / PROFILE_FILE, model_dir / TUNE_DIR, options)


def _bench_options(given: BenchOptions | Mapping[str, Any] | None, progress: bool) -> BenchOptions:
    """Built once, before anything is profiled: a bad option fails fast."""
    from ..bench.options import BenchOptions

    return BenchOptions.from_mapping(given).replace(progress=progress)


def _what(modality: str, dataset: Any) -> str:
    return str(dataset) if modality == "text" else f"{modality} dataset {dataset}"
