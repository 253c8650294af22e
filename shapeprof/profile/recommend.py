"""Shapes to trace with and min/opt/max ranges per dynamic axis, plus TensorRT syntax.

* trace (dummy) shapes: never 0 or 1, so the exporter cannot specialise an axis to a constant.
  ``batch_size`` is the median of the profiled batch sizes (at least 2); ``sequence_length``
  is the rounded-up median length (at least 2). When the two would be equal, the sequence
  length moves to the nearest other size in range (or, if none, the batch size grows by one)
  so the tracer cannot take one axis for the other.
* ranges: ``sequence_length`` min = shortest row, opt = rounded-up median, max = longest row
  (or the rounded-up p99 with ``max_policy="p99"``), within the model limit; ``batch_size``
  min 1, opt = the trace batch size, max = the largest profiled batch size.
* an axis with a single size over the data is reported as static instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ProfileError
from .stats import AxisStats

BATCH, SEQUENCE = "batch_size", "sequence_length"
DEFAULT_AXES = (BATCH, SEQUENCE)
MAX_POLICIES = ("max", "p99")

InputSpec = Sequence[str] | Mapping[str, Mapping[int, str] | Sequence[str | int]]


@dataclass(frozen=True)
class ShapeRange:
    min: int
    opt: int
    max: int

    def to_dict(self) -> dict[str, int]:
        return {"min": self.min, "opt": self.opt, "max": self.max}


@dataclass(frozen=True)
class Recommendations:
    trace: Mapping[str, int]                  # dummy shapes for tracing
    ranges: Mapping[str, ShapeRange]          # dynamic axes
    static: Mapping[str, int]                 # axes with one size over the data
    max_policy: str = "max"

    def value(self, axis: str, which: str) -> int:
        if axis in self.ranges:
            return int(getattr(self.ranges[axis], which))
        if axis in self.static:
            return int(self.static[axis])
        raise ProfileError(f"axis {axis!r} is not in the profile; profiled axes: "
                           f"{', '.join([*self.ranges, *self.static])}")

    def shape_strings(self, inputs: InputSpec) -> dict[str, str]:
        """{"min"|"opt"|"max": "input_ids:1x5,attention_mask:1x5"} for the given inputs."""
        axes = _input_axes(inputs)
        return {which: ",".join(f"{name}:" + "x".join(str(self._size(a, which)) for a in dims)
                                for name, dims in axes.items())
                for which in ("min", "opt", "max")}

    def trtexec_args(self, inputs: InputSpec) -> str:
        """``--minShapes=... --optShapes=... --maxShapes=...`` for trtexec."""
        s = self.shape_strings(inputs)
        return f"--minShapes={s['min']} --optShapes={s['opt']} --maxShapes={s['max']}"

    def ort_trt_options(self, inputs: InputSpec) -> dict[str, str]:
        """onnxruntime TensorRT execution provider options for an explicit shape profile."""
        s = self.shape_strings(inputs)
        return {f"trt_profile_{which}_shapes": s[which] for which in ("min", "opt", "max")}

    def _size(self, axis: str | int, which: str) -> int:
        return axis if isinstance(axis, int) else self.value(axis, which)

    def to_dict(self) -> dict[str, Any]:
        return {"trace": dict(self.trace), "max_policy": self.max_policy,
                "ranges": {k: r.to_dict() for k, r in self.ranges.items()},
                "static": dict(self.static)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recommendations:
        return cls({k: int(v) for k, v in data["trace"].items()},
                   {k: ShapeRange(**{n: int(x) for n, x in r.items()}) for k, r in data["ranges"].items()},
                   {k: int(v) for k, v in data.get("static", {}).items()},
                   data.get("max_policy", "max"))


def _input_axes(inputs: InputSpec) -> dict[str, list[str | int]]:
    """Input name -> ordered axes; bare names mean (batch_size, sequence_length)."""
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, Mapping):
        return {name: list(DEFAULT_AXES) for name in inputs}
    out: dict[str, list[str | int]] = {}
    for name, axes in inputs.items():
        out[name] = [axes[i] for i in sorted(axes)] if isinstance(axes, Mapping) else list(axes)
    return out


def recommend(seq: AxisStats, batch_sizes: Sequence[int], max_length: int | None,
              max_policy: str = "max") -> Recommendations:
    """Trace shapes and ranges from the sequence-length statistics and the batch sizes."""
    if max_policy not in MAX_POLICIES:
        raise ProfileError(f"unknown max policy {max_policy!r}; choose one of {', '.join(MAX_POLICIES)}")
    batch_sizes = sorted(set(int(b) for b in batch_sizes)) or [1]
    trace_batch = max(2, _median_int(batch_sizes))
    limit = max_length if max_length is not None else seq.max
    opt = min(max(math.ceil(seq.p(50)), seq.min), limit)
    top = seq.max if max_policy == "max" else max(math.ceil(seq.p(99)), opt)
    top = min(top, limit)
    trace_seq = _trace_length(opt, max(2, seq.min), top, avoid=trace_batch)
    if trace_seq == trace_batch:          # no other length fits: move the batch size instead
        trace_batch += 1
    ranges = {BATCH: ShapeRange(1, trace_batch, max(trace_batch, batch_sizes[-1]))}
    static: dict[str, int] = {}
    if seq.varies:
        ranges[SEQUENCE] = ShapeRange(seq.min, opt, top)
    else:
        static[SEQUENCE] = seq.min
        trace_seq = seq.min
    return Recommendations({BATCH: trace_batch, SEQUENCE: trace_seq}, ranges, static, max_policy)


def _trace_length(opt: int, lo: int, hi: int, avoid: int) -> int:
    """The size nearest ``opt`` within [lo, hi] other than ``avoid`` (``opt`` if none fits)."""
    for step in range(0, hi - lo + 1):
        for candidate in (opt + step, opt - step):
            if lo <= candidate <= hi and candidate != avoid:
                return candidate
    return max(opt, 2)


def _median_int(values: Sequence[int]) -> int:
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2 + (len(ordered) % 2 == 0)]
