"""Stage 1, plan: trace shapes, dynamic ranges and verification shapes for one graph."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ExportError

if TYPE_CHECKING:
    from ..onnx.base import OnnxConfig

MIN_OPSET, MAX_OPSET = 18, 23

Shapes = Mapping[str, int]
Bounds = Mapping[str, tuple[int, int | None]]


@dataclass(frozen=True)
class ExportPlan:
    """Trace shapes, dynamic ranges and verification shapes for one export."""

    trace_shapes: dict[str, int]
    bounds: dict[str, tuple[int, int | None]]
    verify_shapes: list[tuple[str, dict[str, int]]]


def default_trace_shapes(onnx_config: OnnxConfig) -> dict[str, int]:
    """Trace shapes: the seed's defaults, clipped to the model's limits (never below 2)."""
    from ..onnx.dummy import DEFAULT_DUMMY_SHAPES

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


def check_opset(opset: int | None, default: int) -> int:
    opset = default if opset is None else opset
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ExportError(f"opset {opset} is not supported by the dynamo exporter here; "
                          f"use {MIN_OPSET} to {MAX_OPSET}")
    return opset
