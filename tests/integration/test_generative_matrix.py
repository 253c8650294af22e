"""Every registered decoder (architecture, task) exports, verifies, and generates like transformers."""

from __future__ import annotations

import json
import subprocess

import onnxruntime as ort
import pytest

from shapeprof.errors import ConfigError
from shapeprof.export import export
from shapeprof.loading import wrap_model
from shapeprof.onnx.text import TextDecoderOnnxConfig
from shapeprof.registry import default_registry
from shapeprof.tiny import tiny_model
from support import SHARED_DATA, installed_command

REGISTRY = default_registry()
MATRIX = [(mt, task) for mt in REGISTRY for task in REGISTRY.tasks(mt)
          if issubclass(REGISTRY.get(mt), TextDecoderOnnxConfig)]


@pytest.mark.parametrize("model_type, task", MATRIX, ids=[f"{m}-{t}" for m, t in MATRIX])
def test_export_verify_generate(model_type, task, tmp_path):
    result = export(tiny_model(model_type, task), tmp_path / "out", task=task)
    assert result.verification.passed
    session = ort.InferenceSession(str(result.onnx_path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    assert names == list(result.inputs)
    if task == "text-generation-with-past":
        layers = sum(n.startswith("past_key_values.") for n in names) // 2
        assert layers == 2 and [o.name for o in session.get_outputs()][1:3] == ["present.0.key", "present.0.value"]
        smallest = result.verification.checks[0].shape
        assert smallest["past_sequence_length"] == 0          # the first step, empty cache
    if task.startswith("text-generation"):
        assert [(c.label, c.matching_tokens) for c in result.generation] == [
            ("batch 1", 20), ("batch 3, left-padded", 20)]
        saved = json.loads((result.output_dir / "generation.json").read_text())
        assert all(c["passed"] for c in saved["checks"])


def test_grouped_query_attention_shapes():
    cfg = wrap_model(tiny_model("llama", "text-generation-with-past"), "text-generation-with-past").onnx_config
    past = cfg.generate_dummy_inputs("np", batch_size=3, sequence_length=4, past_sequence_length=5)
    assert past["past_key_values.0.key"].shape == (3, 2, 5, 8)    # 2 key/value heads of 4, head dim 8
    assert past["attention_mask"].shape == (3, 9) and past["position_ids"].shape == (3, 4)
    assert cfg.with_past(cfg._config, task="text-generation").use_past


def test_with_past_for_an_encoder_is_refused():
    with pytest.raises(ConfigError, match="text-generation-with-past"):
        wrap_model(tiny_model("bert"), "text-generation-with-past")


def test_real_tiny_gpt2_checkpoint_through_the_cli(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([installed_command(), "export", "--model", str(SHARED_DATA / "models" / "tiny-gpt2"),
                           "--task", "text-generation-with-past", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "generation (batch 3, left-padded): 20/20 greedy tokens match" in proc.stdout
    assert {"model.onnx", "generation.json", "tokenizer.json", "verification.json"} <= {
        p.name for p in out.iterdir()}
