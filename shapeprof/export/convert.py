"""Stage 2, convert: torch.export with the plan's ``Dim`` ranges, then onnxruntime's graph form."""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ExportError
from .plan import Bounds, ExportPlan, is_static

if TYPE_CHECKING:
    import torch

    from ..onnx.base import OnnxConfig

SINGLE_FILE_LIMIT = 1_800_000_000  # protobuf's 2 GB cap, with headroom


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

    from .graph_form import keep_small_constants
    from .torch_fixes import drop_noop_squeezes

    inputs = cfg.generate_dummy_inputs("pt", **plan.trace_shapes)
    module = OutputSelector.build(model, cfg)
    with torch.no_grad(), cfg.patch_model_for_export(model), _quiet():
        try:
            program = _to_onnx(module, tuple(inputs.values()), cfg, plan, opset)
            keep_small_constants(program.model)
            drop_noop_squeezes(program.model)
            program.optimize()
        except Exception as e:  # torch raises many types; keep the cause chained
            raise ExportError(f"torch.onnx export of {cfg.MODEL_TYPE!r} ({cfg.task}) failed: "
                              f"{summarize_exception(e)}") from e
    check_dynamic_axes(program.model_proto, cfg, plan.bounds)
    return program


def _to_onnx(module: Any, args: tuple[Any, ...], cfg: OnnxConfig, plan: ExportPlan, opset: int) -> Any:
    """torch.onnx.export; on a torch.onnx bug with a known workaround, once more with it."""
    import torch

    from .torch_fixes import exported_without_scalar_first_sub, is_scalar_first_sub

    dynamic = (dynamic_shapes_for(cfg, plan.bounds),)
    options = dict(dynamo=True, opset_version=opset, input_names=list(cfg.inputs),
                   output_names=list(cfg.outputs), optimize=False, verbose=False, report=False)
    try:
        return torch.onnx.export(module, args, dynamic_shapes=dynamic, **options)
    except Exception as e:
        if not is_scalar_first_sub(e):
            raise
    return torch.onnx.export(exported_without_scalar_first_sub(module, args, dynamic), args, **options)


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
                    f"{onnx_config.MODEL_TYPE}'s code specialises it; {_static_advice(onnx_config, axis)}")


def _static_advice(onnx_config: OnnxConfig, axis: str) -> str:
    if axis == "sequence_length" and onnx_config.task.startswith("text-generation"):
        # Mamba, RWKV: the recurrent scan is a Python loop over the tokens, unrolled by tracing.
        return ("generation grows that axis, so the model cannot be exported for generation "
                "(a loop over the tokens, as in a recurrent scan, is unrolled at the trace length)")
    return (f"give that axis a single-size range (or list it in {type(onnx_config).__name__}"
            ".STATIC_AXES)")


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
