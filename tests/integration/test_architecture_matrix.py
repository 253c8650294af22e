"""Every registered text encoder exports and verifies from a tiny model (tasks: see matrix.py).

Other modalities have their own matrix modules; test_matrix_coverage.py checks that
together they cover every registered pair.
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
MATRIX = matrix(REGISTRY, lambda cls: issubclass(cls, TextEncoderOnnxConfig))


@pytest.mark.parametrize("model_type, task", MATRIX, ids=[f"{m}-{t}" for m, t in MATRIX])
def test_export_and_verify(model_type, task, tmp_path):
    result = export(tiny_model(model_type, task), tmp_path / "out", task=task)

    assert result.verification.passed
    labels = [c.label for c in result.verification.checks]
    assert labels == ["smallest", "trace", "large"]
    assert result.verification.checks[0].shape["batch_size"] == 1
    assert result.verification.checks[-1].shape["sequence_length"] == 256

    session = ort.InferenceSession(str(result.onnx_path), providers=["CPUExecutionProvider"])
    cfg = result
    assert [i.name for i in session.get_inputs()] == list(cfg.inputs)
    assert [o.name for o in session.get_outputs()] == list(cfg.outputs)
    static = {a for a, (lo, hi) in result.plan.bounds.items() if lo == hi}
    for inp in session.get_inputs():
        for axis, name in cfg.inputs[inp.name].items():
            expected = result.plan.bounds[name][0] if name in static else name
            assert inp.shape[axis] == expected, (inp.name, inp.shape)
    for out in session.get_outputs():
        for axis, name in cfg.outputs[out.name].items():
            assert out.shape[axis] == name, (out.name, out.shape)
    assert {p.name for p in result.output_dir.iterdir()} >= {
        "model.onnx", "config.json", "verification.json", "shapeprof_export.json"}
