"""Stage 3, verify: onnxruntime against PyTorch, per output, at several shapes.

A check passes when every element satisfies ``|ort - pt| <= atol + rtol * |pt|``
(numpy's ``allclose``). The report keeps the max absolute and relative
difference per output and shape; relative difference is ``|ort - pt| / (|pt| + atol)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import schema
from ..atomic import write_json
from ..errors import VerificationError

if TYPE_CHECKING:
    from ..onnx.base import OnnxConfig
    from .plan import ExportPlan

SCHEMA_VERSION = schema.VERIFICATION.version


@dataclass(frozen=True)
class OutputCheck:
    name: str
    shape: tuple[int, ...]
    max_abs_diff: float
    max_rel_diff: float
    passed: bool


@dataclass(frozen=True)
class ShapeCheck:
    label: str  # e.g. "trace", "min", "batch 1 x length 1"
    source: str  # "dummy" or "data"
    shape: dict[str, int]
    outputs: tuple[OutputCheck, ...]

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outputs)


@dataclass(frozen=True)
class VerificationReport:
    atol: float
    rtol: float
    checks: tuple[ShapeCheck, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def worst(self) -> tuple[ShapeCheck, OutputCheck] | None:
        """The failing (shape, output) with the largest absolute difference."""
        failing = [(c, o) for c in self.checks for o in c.outputs if not o.passed]
        return max(failing, key=lambda co: co[1].max_abs_diff) if failing else None

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "passed": self.passed, **asdict(self)}

    def save(self, path: Path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VerificationReport:
        d = schema.load("verification", data)     # checks the version, migrates older files
        try:
            return cls(float(d["atol"]), float(d["rtol"]), tuple(_shape_check(c) for c in d["checks"]))
        except (KeyError, TypeError, ValueError) as e:
            raise VerificationError(f"verification report is missing or has a bad field ({e!r}); "
                                    "re-run 'shapeprof export'") from e

    @classmethod
    def load(cls, path: str | Path) -> VerificationReport:
        return cls.from_dict(schema.load("verification", Path(path)))

    def table(self) -> str:
        """A markdown table: one row per (shape, output)."""
        rows = ["| check | source | shape | output | max abs diff | max rel diff | ok |",
                "|---|---|---|---|---:|---:|---|"]
        for c in self.checks:
            shape = " x ".join(f"{k}={v}" for k, v in c.shape.items())
            for o in c.outputs:
                rows.append(f"| {c.label} | {c.source} | {shape} | {o.name} | "
                            f"{o.max_abs_diff:.2e} | {o.max_rel_diff:.2e} | {'yes' if o.passed else 'NO'} |")
        return "\n".join(rows)


def _shape_check(d: Mapping[str, Any]) -> ShapeCheck:
    outputs = tuple(OutputCheck(o["name"], tuple(int(n) for n in o["shape"]), float(o["max_abs_diff"]),
                                float(o["max_rel_diff"]), bool(o["passed"])) for o in d["outputs"])
    return ShapeCheck(d["label"], d["source"], {k: int(v) for k, v in d["shape"].items()}, outputs)


def compare_output(name: str, ort_value: np.ndarray, pt_value: np.ndarray,
                   atol: float, rtol: float) -> OutputCheck:
    """Compare one output; a shape mismatch is a failure with infinite difference."""
    if ort_value.shape != pt_value.shape:
        return OutputCheck(name, tuple(ort_value.shape), float("inf"), float("inf"), False)
    ort64, pt64 = ort_value.astype(np.float64), pt_value.astype(np.float64)
    diff = np.abs(ort64 - pt64)
    finite = bool(np.isfinite(ort64).all() == np.isfinite(pt64).all())
    max_abs = float(diff.max()) if diff.size else 0.0
    max_rel = float((diff / (np.abs(pt64) + atol)).max()) if diff.size else 0.0
    passed = finite and bool(np.allclose(ort64, pt64, atol=atol, rtol=rtol, equal_nan=True))
    return OutputCheck(name, tuple(ort_value.shape), max_abs, max_rel, passed)


def check_feeds(session: Any, torch_module: Any, feeds: Mapping[str, np.ndarray],
                output_names: Sequence[str], atol: float, rtol: float) -> tuple[OutputCheck, ...]:
    """Run one batch through onnxruntime and PyTorch and compare every output."""
    import torch

    from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidArgument, RuntimeException

    try:
        ort_out = session.run(list(output_names), dict(feeds))
    except (Fail, InvalidArgument, RuntimeException) as e:   # the graph fails where PyTorch runs
        shape = {k: tuple(v.shape) for k, v in feeds.items()}
        raise VerificationError(f"onnxruntime fails on the exported graph at input shapes {shape}: "
                                f"{str(e).strip().splitlines()[0][:200]}; the model's code took a branch "
                                "at the trace shape that does not hold here") from e
    with torch.no_grad():
        pt_out = torch_module(**{k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in feeds.items()})
    pt_np = [t.detach().float().numpy() if t.is_floating_point() else t.numpy() for t in pt_out]
    return tuple(compare_output(n, o, p, atol, rtol) for n, o, p in zip(output_names, ort_out, pt_np))


def raise_on_failure(report: VerificationReport) -> None:
    """A one-line VerificationError naming the worst output and shape."""
    worst = report.worst()
    if worst is None:
        return
    check, out = worst
    shape = ", ".join(f"{k}={v}" for k, v in check.shape.items())
    raise VerificationError(
        f"onnxruntime output {out.name!r} differs from PyTorch at {shape} ({check.label}, "
        f"{check.source} inputs): max abs diff {out.max_abs_diff:.3g} > atol {report.atol:g} "
        f"+ rtol {report.rtol:g}; loosen --atol/--rtol or pass --allow-mismatch to keep the model"
    )


def verify_export(model: Any, cfg: OnnxConfig, onnx_path: Path, plan: ExportPlan, atol: float,
                  rtol: float, data_feeds: Sequence[tuple[str, dict[str, np.ndarray]]] = (),
                  label_prefix: str = "", on_shape: Callable[[str], None] | None = None
                  ) -> VerificationReport:
    """ORT vs PyTorch on dummy inputs at the plan's shapes, then on any real-data batches;
    ``on_shape(label)`` after each shape (progress)."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    except Exception as e:   # onnxruntime's Fail / InvalidGraph: torch.onnx wrote a graph it rejects
        raise VerificationError(f"onnxruntime cannot load the exported graph of {cfg.MODEL_TYPE!r}: "
                                f"{str(e).strip().splitlines()[0][-200:]}") from e
    module = _KeywordModule(model, cfg)
    checks = []
    for seed, (label, shape) in enumerate(plan.verify_shapes, start=1):
        feeds = cfg.generate_dummy_inputs("np", seed=seed, **shape)
        outputs = check_feeds(session, module, feeds, list(cfg.outputs), atol, rtol)
        checks.append(ShapeCheck(label_prefix + label, "dummy", dict(shape), outputs))
        if on_shape is not None:
            on_shape(label_prefix + label)
    for label, feeds in data_feeds:
        shape = _shape_of(cfg, feeds)
        outputs = check_feeds(session, module, feeds, list(cfg.outputs), atol, rtol)
        checks.append(ShapeCheck(label_prefix + label, "data", shape, outputs))
        if on_shape is not None:
            on_shape(label_prefix + label)
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
