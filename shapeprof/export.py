"""Export a transformers model to ONNX with torch.onnx (dynamo) and verify it.

The pipeline is a list of small stages: load, plan shapes, convert, save,
verify, write the report; the output directory appears only when all passed.
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .atomic import atomic_dir, write_json
from .errors import ExportError
from .verify import VerificationReport, raise_on_failure

if TYPE_CHECKING:
    import numpy as np
    import torch

    from .loading import LoadedModel
    from .onnx.base import OnnxConfig

ONNX_FILE = "model.onnx"
REPORT_FILE = "verification.json"
INFO_FILE = "shapeprof_export.json"
MIN_OPSET, MAX_OPSET = 18, 23
SINGLE_FILE_LIMIT = 1_800_000_000  # protobuf's 2 GB cap, with headroom

Shapes = Mapping[str, int]
Bounds = Mapping[str, tuple[int, int | None]]


@dataclass(frozen=True)
class ExportPlan:
    """Trace shapes, dynamic ranges and verification shapes for one export."""

    trace_shapes: dict[str, int]
    bounds: dict[str, tuple[int, int | None]]
    verify_shapes: list[tuple[str, dict[str, int]]]


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

    @property
    def onnx_path(self) -> Path:
        """The (first) exported graph: model.onnx, or encoder_model.onnx for encoder-decoders."""
        return self.output_dir / (self.parts[0].file if self.parts else ONNX_FILE)


class OutputSelector:
    """Module factory: positional inputs in config order in, config outputs out as a tuple.

    ``additive_mask`` names an input to hand the model as a ready 4-D additive mask
    (see :mod:`shapeprof.graph_form`).
    """

    @staticmethod
    def build(model: torch.nn.Module, cfg: OnnxConfig) -> torch.nn.Module:
        import torch

        from .graph_form import additive_mask as to_additive

        dtype = next(model.parameters()).dtype
        input_names, output_names = list(cfg.inputs), list(cfg.outputs)
        additive_mask = cfg.additive_mask_input

        class _Selector(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, *args: torch.Tensor) -> tuple[torch.Tensor, ...]:
                kwargs = dict(zip(input_names, args))
                if additive_mask in kwargs:
                    kwargs[additive_mask] = to_additive(kwargs[additive_mask], dtype)
                out = self.model(**cfg.to_model_kwargs(kwargs), return_dict=True)
                return cfg.select_outputs(out, output_names)

        return _Selector().eval()


# ---- stage: plan shapes ---------------------------------------------------------------
def default_trace_shapes(onnx_config: OnnxConfig) -> dict[str, int]:
    """Trace shapes: the seed's defaults, clipped to the model's limits (never below 2)."""
    from .onnx.dummy import DEFAULT_DUMMY_SHAPES

    natural = onnx_config.default_axis_sizes()
    shapes = {a: natural.get(a, DEFAULT_DUMMY_SHAPES.get(a, 2)) for a in onnx_config.axis_names()}
    for axis, (lo, hi) in onnx_config.axis_bounds().items():
        if hi is not None and axis in shapes:
            shapes[axis] = lo if lo == hi else max(2, lo, min(shapes[axis], hi))
    return shapes


def is_static(bounds: tuple[int, int | None]) -> bool:
    """An axis whose range is one size is exported static (a fixed dimension)."""
    return bounds[0] == bounds[1]


def plan_export(onnx_config: OnnxConfig, trace_shapes: Shapes | None = None,
                bounds: Bounds | None = None) -> ExportPlan:
    """Merge user/profile shapes and ranges with the config's limits; validate them."""
    limits = onnx_config.axis_bounds()
    trace = {**default_trace_shapes(onnx_config), **(trace_shapes or {})}
    merged = dict(limits)
    for axis, (lo, hi) in (bounds or {}).items():
        base_lo, base_hi = limits.get(axis, (1, None))
        if base_hi is not None and (hi is None or hi > base_hi):
            raise ExportError(f"range of {axis!r} up to {hi} exceeds the model's limit of {base_hi}; "
                              f"lower it to at most {base_hi}")
        merged[axis] = (max(lo, base_lo), hi)
    for axis, size in trace.items():
        lo, hi = merged.get(axis, (1, None))
        if size < 2 and not is_static((lo, hi)):
            raise ExportError(f"trace size of {axis!r} is {size}; torch.export specialises axes of "
                              "size 0 or 1, so trace with 2 or more")
        if size < lo or (hi is not None and size > hi):
            raise ExportError(f"trace size {size} of {axis!r} is outside its range [{lo}, {hi}]")
    verify = [(label, {a: _clip(n, merged.get(a, (1, None))) for a, n in shape.items()})
              for label, shape in onnx_config.verification_shapes(trace)]
    return ExportPlan(trace, merged, verify)


def _clip(size: int, bounds: tuple[int, int | None]) -> int:
    lo, hi = bounds
    return max(lo, size if hi is None else min(size, hi))


# ---- stage: convert -----------------------------------------------------------------
def dynamic_shapes_for(onnx_config: OnnxConfig, bounds: Bounds) -> tuple[dict[int, Any], ...]:
    """torch.export ``Dim`` objects for every input axis, shared by name across inputs.

    Axes whose range is a single size (see :func:`is_static`) get no ``Dim``: they stay static.
    """
    from torch.export import Dim

    dims: dict[str, Any] = {}
    for axis in onnx_config.axis_names():
        lo, hi = bounds.get(axis, (1, None))
        if is_static((lo, hi)):
            continue
        name = dim_name(axis)
        dims[axis] = Dim(name, min=lo, max=hi) if hi is not None else Dim(name, min=lo)
    return tuple({i: dims[a] for i, a in spec.items() if a in dims}
                 for spec in onnx_config.inputs.values())


def dim_name(axis: str) -> str:
    """torch.export needs identifiers: "past_sequence_length + sequence_length" -> "..._sequence_length"."""
    return re.sub(r"\W+", "_", axis).strip("_")


def convert(model: Any, cfg: OnnxConfig, plan: ExportPlan, opset: int) -> Any:
    """Trace ``model`` as ``cfg`` describes it with torch.export and convert to an ``ONNXProgram``."""
    import torch

    inputs = cfg.generate_dummy_inputs("pt", **plan.trace_shapes)
    module = OutputSelector.build(model, cfg)
    with torch.no_grad(), cfg.patch_model_for_export(model), _quiet():
        try:
            program = torch.onnx.export(
                module, tuple(inputs.values()), dynamo=True, opset_version=opset,
                dynamic_shapes=(dynamic_shapes_for(cfg, plan.bounds),),
                input_names=list(cfg.inputs), output_names=list(cfg.outputs),
                optimize=True, verbose=False, report=False,
            )
        except Exception as e:  # torch raises many types; keep the cause chained
            raise ExportError(f"torch.onnx export of {cfg.MODEL_TYPE!r} ({cfg.task}) failed: "
                              f"{summarize_exception(e)}") from e
    check_dynamic_axes(program.model_proto, cfg, plan.bounds)
    return program


def check_dynamic_axes(proto: Any, onnx_config: OnnxConfig, bounds: Bounds) -> None:
    """Fail when torch.export froze an axis the plan keeps dynamic (the model's code fixed it)."""
    graph_inputs = {i.name: i.type.tensor_type.shape.dim for i in proto.graph.input}
    for name, axes in onnx_config.inputs.items():
        for index, axis in axes.items():
            dims = graph_inputs.get(name)
            if dims is None or is_static(bounds.get(axis, (1, None))) or index >= len(dims):
                continue
            if not dims[index].dim_param:
                raise ExportError(
                    f"torch.export fixed axis {axis!r} of {name!r} to {dims[index].dim_value}: "
                    f"{onnx_config.MODEL_TYPE}'s code specialises it; give that axis a single-size "
                    f"range (or list it in {type(onnx_config).__name__}.STATIC_AXES)")


def summarize_exception(error: BaseException) -> str:
    """One line from torch's multi-paragraph errors: the innermost exception summary."""
    while error.__cause__ is not None:
        error = error.__cause__
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:400]


class _quiet:
    """Silence torch.onnx's progress prints and warnings during conversion."""

    def __enter__(self) -> None:
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("ignore")
        self._levels = {n: logging.getLogger(n).level for n in ("torch", "torch.onnx", "torch.export")}
        for name in self._levels:
            logging.getLogger(name).setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)
        self._warnings.__exit__(*exc)


def save_program(program: Any, path: Path) -> None:
    """Bring the graph into onnxruntime's preferred form and save it.

    One file when it fits protobuf's limit, else with external data.
    """
    import onnx

    from .graph_form import split_multi_axis_unsqueeze, strip_value_info

    split_multi_axis_unsqueeze(program.model)
    proto = program.model_proto
    strip_value_info(proto)
    size = sum(t.ByteSize() for t in proto.graph.initializer)
    onnx.save_model(proto, str(path), save_as_external_data=size >= SINGLE_FILE_LIMIT,
                    all_tensors_to_one_file=True, location=path.name + ".data")


# ---- stage: verify ------------------------------------------------------------------
def verify_export(model: Any, cfg: OnnxConfig, onnx_path: Path, plan: ExportPlan, atol: float,
                  rtol: float, data_feeds: Sequence[tuple[str, dict[str, np.ndarray]]] = (),
                  label_prefix: str = "") -> VerificationReport:
    """ORT vs PyTorch on dummy inputs at the plan's shapes, then on any real-data batches."""
    import onnxruntime as ort

    from .verify import ShapeCheck, check_feeds

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    module = _KeywordModule(model, cfg)
    checks = []
    for seed, (label, shape) in enumerate(plan.verify_shapes, start=1):
        feeds = cfg.generate_dummy_inputs("np", seed=seed, **shape)
        outputs = check_feeds(session, module, feeds, list(cfg.outputs), atol, rtol)
        checks.append(ShapeCheck(label_prefix + label, "dummy", dict(shape), outputs))
    for label, feeds in data_feeds:
        shape = _shape_of(cfg, feeds)
        outputs = check_feeds(session, module, feeds, list(cfg.outputs), atol, rtol)
        checks.append(ShapeCheck(label_prefix + label, "data", shape, outputs))
    return VerificationReport(atol, rtol, tuple(checks))


class _KeywordModule:
    """Calls the model with keyword inputs and returns the config's outputs in order."""

    def __init__(self, model: Any, cfg: OnnxConfig) -> None:
        self.model, self.cfg = model, cfg

    def __call__(self, **feeds: Any) -> tuple[Any, ...]:
        out = self.model(**self.cfg.to_model_kwargs(dict(feeds)), return_dict=True)
        return self.cfg.select_outputs(out, list(self.cfg.outputs))


def _shape_of(cfg: OnnxConfig, feeds: Mapping[str, np.ndarray]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for name, axes in cfg.inputs.items():
        for i, axis in axes.items():
            sizes.setdefault(axis, int(feeds[name].shape[i]))
    return sizes


# ---- the pipeline ---------------------------------------------------------------------
def check_opset(opset: int | None, default: int) -> int:
    opset = default if opset is None else opset
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ExportError(f"opset {opset} is not supported by the dynamo exporter here; "
                          f"use {MIN_OPSET} to {MAX_OPSET}")
    return opset


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
) -> ExportResult:
    """Export ``model`` (a path, Hub id or loaded model) to ``output_dir``/model.onnx and verify it.

    ``trace_shapes`` and ``bounds`` override the dummy shapes and dynamic ranges
    (the profiler supplies them); ``data_feeds`` are extra real batches to verify on.
    With ``strict`` a mismatch raises :class:`VerificationError` and nothing is written.
    ``extra_files`` may add files to the directory before it appears; ``metadata`` is
    merged into its ``shapeprof_export.json``. A model with freshly initialised weights
    (e.g. a new classification head) is saved too, so PyTorch comparisons use the same weights.
    """
    from .atomic import check_output_dir
    from .loading import LoadedModel, load_model, save_preprocessors, wrap_model

    output_dir = Path(output_dir)
    check_output_dir(output_dir, overwrite, ExportError)
    if opset is not None:
        check_opset(opset, opset)
    if isinstance(model, LoadedModel):
        loaded = model
    elif isinstance(model, (str, Path)):
        loaded = load_model(model, task, trust_remote_code=trust_remote_code)
    else:
        loaded = wrap_model(model, task)
    cfg = loaded.onnx_config
    opset = check_opset(opset, cfg.DEFAULT_ONNX_OPSET)
    parts = cfg.export_parts(loaded.model)
    if len(parts) > 1 and data_feeds:
        raise ExportError(f"verifying {cfg.MODEL_TYPE} ({cfg.task}) on dataset batches is not supported: "
                          "it exports an encoder and a decoder; export it without --dataset")
    plans = [plan_export(part_cfg, *_part_shapes(part_cfg, trace_shapes, bounds, len(parts) > 1))
             for _, _, part_cfg in parts]
    atol = cfg.ATOL_FOR_VALIDATION if atol is None else atol
    rtol = cfg.RTOL_FOR_VALIDATION if rtol is None else rtol

    with atomic_dir(output_dir, overwrite, ExportError) as tmp:
        done, checks = [], []
        for (file, module, part_cfg), plan in zip(parts, plans):
            start = time.perf_counter()
            save_program(convert(module, part_cfg, plan, opset), tmp / file)
            seconds = time.perf_counter() - start
            done.append(PartResult(file, part_cfg.inputs, part_cfg.outputs, plan, seconds))
            prefix = f"{file.removesuffix('_model.onnx')}: " if len(parts) > 1 else ""
            checks += verify_export(module, part_cfg, tmp / file, plan, atol, rtol, data_feeds,
                                    prefix).checks
        report = VerificationReport(atol, rtol, tuple(checks))
        loaded.model.config.save_pretrained(str(tmp))
        if loaded.fresh_weights:
            loaded.model.save_pretrained(str(tmp))
        files = save_preprocessors(loaded.source, tmp, trust_remote_code)
        report.save(tmp / REPORT_FILE)
        if strict:
            raise_on_failure(report)
        generation = check_generation(loaded, tmp, strict)
        notes = _notes(loaded, report)
        result = ExportResult(output_dir, cfg.MODEL_TYPE, cfg.task, opset, done[0].inputs, done[0].outputs,
                              done[0].plan, report, sum(p.export_seconds for p in done), tuple(files),
                              notes, generation, tuple(done))
        write_json(tmp / INFO_FILE, {**export_info(result, loaded.source), **(metadata or {})})
        if extra_files:
            extra_files(tmp)
    return result


def _part_shapes(cfg: OnnxConfig, trace_shapes: Shapes | None, bounds: Bounds | None,
                 split: bool) -> tuple[Shapes | None, Bounds | None]:
    """The user's shapes and ranges for one graph of a split export: only the axes it has."""
    if not split:
        return trace_shapes, bounds
    axes = set(cfg.axis_names())
    return ({a: n for a, n in (trace_shapes or {}).items() if a in axes},
            {a: b for a, b in (bounds or {}).items() if a in axes})


def check_generation(loaded: LoadedModel, out_dir: Path, strict: bool) -> tuple[Any, ...]:
    """Greedy generation through onnxruntime vs ``generate`` (generation tasks only)."""
    from .errors import VerificationError
    from .generation import GENERATION_FILE, is_generative, verify_generation

    if not is_generative(loaded.onnx_config):
        return ()
    checks = tuple(verify_generation(loaded.model, loaded.onnx_config, out_dir))
    write_json(out_dir / GENERATION_FILE, {"checks": [c.to_dict() for c in checks]})
    failed = [c for c in checks if not c.passed]
    if failed and strict:
        c = failed[0]
        raise VerificationError(f"greedy generation through onnxruntime diverges from transformers' "
                                f"generate at {c.label} after {c.matching_tokens} of {c.new_tokens} "
                                "tokens; pass --allow-mismatch to keep the model")
    return checks


def _notes(loaded: LoadedModel, report: VerificationReport) -> tuple[str, ...]:
    notes = []
    if loaded.fresh_weights:
        notes.append(f"{len(loaded.fresh_weights)} weight tensor(s) were freshly initialised "
                     f"(e.g. {loaded.fresh_weights[0]}): fine for shapes and latency, not for accuracy")
    if not report.passed:
        notes.append("verification FAILED; the model was kept because of --allow-mismatch")
    return tuple(notes)


def export_info(result: ExportResult, source: str | None = None) -> dict[str, Any]:
    """The export's metadata, saved beside the model; ``source`` is where the weights came from."""
    from . import __version__
    import onnx
    import torch
    import transformers

    return {
        "schema_version": 1,
        "shapeprof_version": __version__,
        "model_type": result.model_type,
        "task": result.task,
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


__all__ = ["ExportPlan", "ExportResult", "export", "plan_export", "asdict"]
