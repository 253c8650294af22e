"""Every registered vision, audio and text-and-vision architecture exports and verifies (tasks: matrix.py).

Tiny models are built from config classes (32x32 images, patch 8; 3-layer conv audio front
end). Each export is verified against PyTorch at three shapes; static axes must come out
as fixed dimensions of the config's size and dynamic axes as named dimensions.
"""

from __future__ import annotations

import onnxruntime as ort
import pytest

from shapeprof.export import export
from shapeprof.onnx.text import TextEncoderOnnxConfig
from shapeprof.onnx.builtin import default_registry
from shapeprof.testing.tiny import tiny_model
from matrix import matrix

pytestmark = pytest.mark.slow  # exports every registered architecture

REGISTRY = default_registry()
MATRIX = matrix(REGISTRY, lambda cls: not issubclass(cls, TextEncoderOnnxConfig)
                and cls.__module__.split(".")[-1] in ("images", "speech", "multimodal"))


@pytest.mark.parametrize("model_type, task", MATRIX, ids=[f"{m}-{t}" for m, t in MATRIX])
def test_export_and_verify(model_type, task, tmp_path):
    result = export(tiny_model(model_type, task), tmp_path / "out", task=task)

    assert result.verification.passed
    assert [c.label for c in result.verification.checks] == ["smallest", "trace", "large"]
    shapes = [c.shape for c in result.verification.checks]
    assert len({tuple(sorted(s.items())) for s in shapes}) == 3  # three distinct shapes
    bounds = result.plan.bounds
    session = ort.InferenceSession(str(result.onnx_path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(result.inputs)
    assert [o.name for o in session.get_outputs()] == list(result.outputs)
    for inp in session.get_inputs():
        for axis, name in result.inputs[inp.name].items():
            lo, hi = bounds[name]
            expected = lo if lo == hi else name
            assert inp.shape[axis] == expected, (inp.name, inp.shape, name)
    for out in session.get_outputs():
        for axis, name in result.outputs[out.name].items():
            assert out.shape[axis] == name, (out.name, out.shape)
    static = REGISTRY.get(model_type).STATIC_AXES
    for axis in ("height", "width"):
        if axis in bounds:
            assert (bounds[axis][0] == bounds[axis][1]) == (axis in static)
