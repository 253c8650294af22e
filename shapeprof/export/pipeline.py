"""The export pipeline: load, plan, convert, verify, write; the directory appears only when all passed.

Each stage lives in its own module (:mod:`.plan`, :mod:`.convert`, :mod:`.verify`);
this one strings them together and writes the export record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import atomic_dir, write_json
from ..errors import ExportError
from ..layout import EXPORT_RECORD, ONNX_FILE, VERIFICATION_FILE
from .convert import convert, save_program
from .plan import Bounds, ExportPlan, Shapes, check_opset, plan_export
from .verify import VerificationReport, raise_on_failure, verify_export

if TYPE_CHECKING:
    import numpy as np

    from ..loading import LoadedModel
    from ..onnx.base import OnnxConfig


@dataclass(frozen=True)
class PartResult:
    """One exported graph: its file, inputs, outputs, plan and conversion time."""

    file: str
    inputs: dict[str, dict[int, str]]
    outputs: dict[str, dict[int, str]]
    plan: ExportPlan
    export_seconds: float


@dataclass(frozen=True)
class ExportResult:
    output_dir: Path
    model_type: str
    task: str
    opset: int
    inputs: dict[str, dict[int, str]]
    outputs: dict[str, dict[int, str]]
    plan: ExportPlan
    verification: VerificationReport
    export_seconds: float
    files: tuple[str, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = field(default_factory=tuple)
    generation: tuple[Any, ...] = ()     # GenerationCheck per prompt batch (decoders)
    parts: tuple[PartResult, ...] = ()   # every graph; encoder-decoders have two
    config: str = "registered"           # the ONNX config: "registered" or "derived" from the model
    derivation: dict[str, Any] = field(default_factory=dict)   # what was probed (derived configs)

    @property
    def onnx_path(self) -> Path:
        """The (first) exported graph: model.onnx, or encoder_model.onnx for encoder-decoders."""
        return self.output_dir / (self.parts[0].file if self.parts else ONNX_FILE)


def export(
    model: str | Path | Any,
    output_dir: str | Path,
    task: str | None = None,
    opset: int | None = None,
    *,
    trace_shapes: Shapes | None = None,
    bounds: Bounds | None = None,
    data_feeds: Sequence[tuple[str, dict[str, np.ndarray]]] = (),
    atol: float | None = None,
    rtol: float | None = None,
    strict: bool = True,
    overwrite: bool = False,
    trust_remote_code: bool = False,
    extra_files: Callable[[Path], None] | None = None,
    metadata: Mapping[str, Any] | None = None,
    progress: bool = False,
    config: str | None = None,
) -> ExportResult:
    """Export ``model`` (a path, Hub id or loaded model) to ``output_dir``/model.onnx and verify it.

    ``trace_shapes`` and ``bounds`` override the dummy shapes and dynamic ranges
    (the profiler supplies them); ``data_feeds`` are extra real batches to verify on.
    With ``strict`` a mismatch raises :class:`VerificationError` and nothing is written.
    ``extra_files`` may add files to the directory before it appears; ``metadata`` is
    merged into its ``shapeprof_export.json``. A model with freshly initialised weights
    (e.g. a new classification head) is saved too, so PyTorch comparisons use the same weights.
    ``progress`` shows the conversion, every verification shape and generation parity on stderr.
    ``config``: "registered", "auto" (derive the ONNX config from the model) or None (registered
    when the model type has a row, else derived); see :func:`shapeprof.loading.load_model`.
    """
    from ..atomic import check_output_dir

    output_dir = Path(output_dir)
    check_output_dir(output_dir, overwrite, ExportError)
    if opset is not None:
        check_opset(opset, opset)
    loaded = _load(model, task, trust_remote_code, config)
    cfg = loaded.onnx_config
    opset = check_opset(opset, cfg.DEFAULT_ONNX_OPSET)
    parts = cfg.export_parts(loaded.model)
    plans = _plan_parts(cfg, parts, trace_shapes, bounds, bool(data_feeds))
    atol = cfg.ATOL_FOR_VALIDATION if atol is None else atol
    rtol = cfg.RTOL_FOR_VALIDATION if rtol is None else rtol

    with atomic_dir(output_dir, overwrite, ExportError) as tmp:
        done, report = _convert_and_verify(parts, plans, opset, tmp, atol, rtol, data_feeds, loaded,
                                           progress)
        files = _save_model_files(loaded, tmp, trust_remote_code)
        report.save(tmp / VERIFICATION_FILE)
        if strict:
            raise_on_failure(report)
        generation = check_generation(loaded, tmp, strict, progress)
        result = ExportResult(output_dir, cfg.MODEL_TYPE, cfg.task, opset, done[0].inputs, done[0].outputs,
                              done[0].plan, report, sum(p.export_seconds for p in done), tuple(files),
                              _notes(loaded, report, generation), generation, tuple(done), loaded.config_origin,
                              dict(getattr(cfg, "DERIVATION", {}) if loaded.config_origin == "derived" else {}))
        write_json(tmp / EXPORT_RECORD, {**export_info(result, loaded.source), **(metadata or {})})
        if extra_files:
            extra_files(tmp)
    return result


Part = tuple[str, Any, "OnnxConfig"]   # (file name, module to trace, its config)
CONVERT_WORK = 8                       # a conversion's weight against one verification shape (ETAs)


def _load(model: str | Path | Any, task: str | None, trust_remote_code: bool,
          config: str | None = None) -> LoadedModel:
    """Stage 0: a path or Hub id is loaded, a model object wrapped, a LoadedModel kept."""
    from ..loading import LoadedModel, load_model, wrap_model

    if isinstance(model, LoadedModel):
        return model
    if isinstance(model, (str, Path)):
        return load_model(model, task, trust_remote_code=trust_remote_code, config=config)
    return wrap_model(model, task, config=config)


def _plan_parts(cfg: OnnxConfig, parts: Sequence[Part], trace_shapes: Shapes | None,
                bounds: Bounds | None, with_data: bool) -> list[ExportPlan]:
    """Stage 1 for every graph of the export."""
    split = len(parts) > 1
    if split and with_data:
        raise ExportError(f"verifying {cfg.MODEL_TYPE} ({cfg.task}) on dataset batches is not supported: "
                          "it exports an encoder and a decoder; export it without --dataset")
    return [plan_export(part_cfg, *_part_shapes(part_cfg, trace_shapes, bounds, split))
            for _, _, part_cfg in parts]


def _convert_and_verify(parts: Sequence[Part], plans: Sequence[ExportPlan], opset: int, tmp: Path,
                        atol: float, rtol: float,
                        data_feeds: Sequence[tuple[str, dict[str, np.ndarray]]], loaded: LoadedModel,
                        progress: bool = False
                        ) -> tuple[list[PartResult], VerificationReport]:
    """Stages 2 and 3 per graph: convert and save it, then check it against PyTorch."""
    from ..console import progress as progress_bar

    done, checks = [], []
    shapes = sum(len(plan.verify_shapes) + len(data_feeds) for plan in plans)
    with progress_bar(CONVERT_WORK * len(parts) + shapes, "export", enabled=progress, percent=True) as bar:
        for (file, module, part_cfg), plan in zip(parts, plans):
            bar.set_now(f"converting {file} (torch.onnx, dynamo)")
            start = time.perf_counter()
            save_program(_convert(module, part_cfg, plan, opset, loaded), tmp / file)
            done.append(PartResult(file, part_cfg.inputs, part_cfg.outputs, plan, time.perf_counter() - start))
            bar.update(CONVERT_WORK, now=f"verifying {file} against PyTorch")
            prefix = f"{file.removesuffix('_model.onnx')}: " if len(parts) > 1 else ""
            checks += verify_export(module, part_cfg, tmp / file, plan, atol, rtol, data_feeds, prefix,
                                    on_shape=lambda label: bar.update(1, now=f"verified {label}")).checks
    return done, VerificationReport(atol, rtol, tuple(checks))


def _convert(module: Any, cfg: OnnxConfig, plan: ExportPlan, opset: int, loaded: LoadedModel) -> Any:
    """Stage 2; a derived config that cannot be traced (custom op, data-dependent control flow)
    says how to register a class instead."""
    try:
        return convert(module, cfg, plan, opset)
    except ExportError as e:
        if loaded.config_origin != "derived":
            raise
        from ..onnx.derive import registration_hint

        base = getattr(loaded.onnx_config, "DERIVATION", {}).get("family", "OnnxConfig")
        raise ExportError(f"{e.args[0]} (derived config); "
                          f"{registration_hint(loaded.model_type, loaded.task, base)}") from e


def _save_model_files(loaded: LoadedModel, tmp: Path, trust_remote_code: bool) -> list[str]:
    """The transformers config, fresh weights when there are any, and the preprocessor files."""
    from ..loading import save_preprocessors

    loaded.model.config.save_pretrained(str(tmp))
    if loaded.fresh_weights:
        loaded.model.save_pretrained(str(tmp))
    return save_preprocessors(loaded.source, tmp, trust_remote_code)


def _part_shapes(cfg: OnnxConfig, trace_shapes: Shapes | None, bounds: Bounds | None,
                 split: bool) -> tuple[Shapes | None, Bounds | None]:
    """The user's shapes and ranges for one graph of a split export: only the axes it has."""
    if not split:
        return trace_shapes, bounds
    axes = set(cfg.axis_names())
    return ({a: n for a, n in (trace_shapes or {}).items() if a in axes},
            {a: b for a, b in (bounds or {}).items() if a in axes})


def check_generation(loaded: LoadedModel, out_dir: Path, strict: bool, progress: bool = False
                     ) -> tuple[Any, ...]:
    """Greedy generation through onnxruntime vs ``generate`` (generation tasks only)."""
    from ..errors import VerificationError
    from ..layout import GENERATION_FILE
    from .generation import generation_record, is_generative, verify_generation

    if not is_generative(loaded.onnx_config):
        return ()
    from ..console import progress as progress_bar
    from .generation import PROMPT_LENGTHS

    with progress_bar(len(PROMPT_LENGTHS), "generation parity", enabled=progress, unit="prompt batches") as bar:
        checks = tuple(verify_generation(loaded.model, loaded.onnx_config, out_dir,
                                         on_batch=lambda label: bar.update(1, now=f"checked {label}")))
    write_json(out_dir / GENERATION_FILE, generation_record(checks))
    failed = [c for c in checks if not c.passed]
    if failed and strict:
        c = failed[0]
        raise VerificationError(f"greedy generation through onnxruntime diverges from transformers' "
                                f"generate at {c.label} after {c.matching_tokens} of {c.new_tokens} "
                                "tokens; pass --allow-mismatch to keep the model")
    return checks


def _notes(loaded: LoadedModel, report: VerificationReport, generation: Sequence[Any] = ()) -> tuple[str, ...]:
    notes = []
    fallback = getattr(loaded.onnx_config, "DERIVATION", {}).get("fallback")
    if fallback and loaded.config_origin == "derived":
        notes.append(fallback)
    degenerate = [c.label for c in generation if c.degenerate]
    if degenerate:
        notes.append(f"greedy decoding repeats one token ({', '.join(degenerate)}): generation parity "
                     "proves little for these weights")
    if loaded.fresh_weights:
        notes.append(f"{len(loaded.fresh_weights)} weight tensor(s) were freshly initialised "
                     f"(e.g. {loaded.fresh_weights[0]}): fine for shapes and latency, not for accuracy")
    if not report.passed:
        notes.append("verification FAILED; the model was kept because of --allow-mismatch")
    return tuple(notes)


def export_info(result: ExportResult, source: str | None = None) -> dict[str, Any]:
    """The export's metadata, saved beside the model; ``source`` is where the weights came from."""
    from .. import __version__, schema
    import onnx
    import torch
    import transformers

    return {
        "schema_version": schema.EXPORT_RECORD.version,
        "shapeprof_version": __version__,
        "model_type": result.model_type,
        "task": result.task,
        "config": result.config,
        **({"derivation": result.derivation} if result.derivation else {}),
        "source": source,
        "opset": result.opset,
        "inputs": result.inputs,
        "outputs": result.outputs,
        "trace_shapes": result.plan.trace_shapes,
        "dynamic_bounds": {k: list(v) for k, v in result.plan.bounds.items()},
        "export_seconds": round(result.export_seconds, 3),
        "files": [p.file for p in result.parts],
        **({"parts": {p.file: {"inputs": p.inputs, "outputs": p.outputs,
                               "export_seconds": round(p.export_seconds, 3)} for p in result.parts}}
           if len(result.parts) > 1 else {}),
        "verification_passed": result.verification.passed,
        "notes": list(result.notes),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "onnx": onnx.__version__},
    }


__all__ = ["ExportPlan", "ExportResult", "PartResult", "export"]
