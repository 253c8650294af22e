"""Every registered decoder and encoder-decoder exports, verifies, and generates like transformers
(tasks: see matrix.py), from tiny models whose greedy output varies."""

from __future__ import annotations

import json
import subprocess

import onnxruntime as ort
import pytest

from shapeprof.errors import ConfigError
from shapeprof.export import export
from shapeprof.loading import wrap_model
from shapeprof.onnx.base import OnnxSeq2SeqConfigWithPast
from shapeprof.onnx.text import TextDecoderOnnxConfig
from shapeprof.onnx.builtin import default_registry
from shapeprof.testing.tiny import tiny_model
from matrix import matrix
from support import SHARED_DATA, installed_command

pytestmark = pytest.mark.slow  # exports every registered architecture

REGISTRY = default_registry()
DECODERS = matrix(REGISTRY, lambda cls: issubclass(cls, TextDecoderOnnxConfig))
SEQ2SEQ = matrix(REGISTRY, lambda cls: issubclass(cls, OnnxSeq2SeqConfigWithPast))
MATRIX = DECODERS + SEQ2SEQ
GENERATED = [("batch 1", 20), ("batch 3, left-padded", 20)]


def assert_generation_varies(result):
    """Parity of a constant proves nothing: the tiny model's greedy tokens vary in every row."""
    assert all(c.distinct_tokens > 1 for c in result.generation), [
        (c.label, c.distinct_tokens) for c in result.generation]
    assert not any("repeats one token" in n for n in result.notes)


@pytest.mark.parametrize("model_type, task", DECODERS, ids=[f"{m}-{t}" for m, t in DECODERS])
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
        assert [(c.label, c.matching_tokens) for c in result.generation] == GENERATED
        assert_generation_varies(result)
        saved = json.loads((result.output_dir / "generation.json").read_text())
        assert all(c["passed"] for c in saved["checks"])


@pytest.mark.parametrize("model_type, task", SEQ2SEQ, ids=[f"{m}-{t}" for m, t in SEQ2SEQ])
def test_seq2seq_export_verify_generate(model_type, task, tmp_path):
    result = export(tiny_model(model_type, task), tmp_path / "out", task=task)
    assert result.verification.passed
    if task == "feature-extraction":
        assert [p.file for p in result.parts] == ["model.onnx"]
        return
    assert [p.file for p in result.parts] == ["encoder_model.onnx", "decoder_model.onnx"]
    decoder = ort.InferenceSession(str(result.output_dir / "decoder_model.onnx"),
                                   providers=["CPUExecutionProvider"])
    names = [i.name for i in decoder.get_inputs()]
    outputs = [o.name for o in decoder.get_outputs()]
    if task.endswith("-with-past"):
        assert names[-4:] == [f"past_key_values.1.{p}.{k}" for p in ("decoder", "encoder") for k in ("key", "value")]
        assert outputs[1:5] == [f"present.0.{p}.{k}" for p in ("decoder", "encoder") for k in ("key", "value")]
        labels = {c.label for c in result.verification.checks}
        assert {"decoder: first step", "decoder: later step"} <= labels
    else:
        assert outputs == ["logits"]
    padding = "same length" if model_type == "whisper" else "left-padded"
    assert [(c.label, c.matching_tokens) for c in result.generation] == [
        ("batch 1", 20), (f"batch 3, {padding}", 20)]
    assert_generation_varies(result)
    info = json.loads((result.output_dir / "shapeprof_export.json").read_text())
    assert info["files"] == ["encoder_model.onnx", "decoder_model.onnx"] and set(info["parts"]) == set(info["files"])
    if (model_type, task) == ("bart", "text2text-generation-with-past"):   # not a bench target yet
        from shapeprof.bench.model_dir import open_model_dir
        from shapeprof.errors import BenchError

        with pytest.raises(BenchError, match="encoder-decoder export"):
            open_model_dir(result.output_dir)


def test_later_decoder_steps_reuse_the_cross_attention_cache():
    cfg = wrap_model(tiny_model("bart", "text2text-generation-with-past"),
                     "text2text-generation-with-past").onnx_config
    decoder = cfg.get_decoder_onnx_config(cfg._config, cfg.task, use_past=True)
    later = decoder.generate_dummy_inputs("np", batch_size=2, decoder_sequence_length=1,
                                          past_decoder_sequence_length=6, encoder_sequence_length=9,
                                          encoder_past_sequence_length=9)
    assert later["encoder_hidden_states"].shape == (2, 0, 32)    # nothing left to project
    assert later["encoder_attention_mask"].shape == (2, 9)       # the mask covers every encoder position
    assert later["past_key_values.0.encoder.key"].shape == (2, 4, 9, 8)
    assert later["past_key_values.0.decoder.key"].shape == (2, 4, 6, 8)


def test_whisper_spectrogram_axes_are_static():
    cfg = wrap_model(tiny_model("whisper", "automatic-speech-recognition"), "automatic-speech-recognition").onnx_config
    encoder = cfg.get_encoder_onnx_config(cfg._config)
    assert encoder.axis_bounds()["nb_max_frames"] == (32, 32)     # 2 x max_source_positions
    assert encoder.axis_bounds()["feature_size"] == (8, 8)


def test_grouped_query_attention_shapes():
    cfg = wrap_model(tiny_model("llama", "text-generation-with-past"), "text-generation-with-past").onnx_config
    past = cfg.generate_dummy_inputs("np", batch_size=3, sequence_length=4, past_sequence_length=5)
    assert past["past_key_values.0.key"].shape == (3, 2, 5, 8)    # 2 key/value heads of 4, head dim 8
    assert past["attention_mask"].shape == (3, 9) and past["position_ids"].shape == (3, 4)
    assert cfg.with_past(cfg._config, task="text-generation").use_past


def test_with_past_for_an_encoder_is_refused():
    with pytest.raises(ConfigError, match="text-generation-with-past"):
        wrap_model(tiny_model("bert"), "text-generation-with-past")
    with pytest.raises(ConfigError, match="text2text-generation-with-past"):
        wrap_model(tiny_model("gpt2"), "text2text-generation-with-past")


def test_seq2seq_export_refuses_dataset_batches(tmp_path):
    from shapeprof.errors import ExportError

    model = tiny_model("t5", "text2text-generation")
    with pytest.raises(ExportError, match="encoder and a decoder"):
        export(model, tmp_path / "out", task="text2text-generation", data_feeds=[("row", {})])
    assert not (tmp_path / "out").exists()


def test_real_tiny_gpt2_checkpoint_through_the_cli(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([installed_command(), "export", "--model", str(SHARED_DATA / "models" / "tiny-gpt2"),
                           "--task", "text-generation-with-past", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "generation (batch 3, left-padded): 20/20 greedy tokens match" in proc.stdout
    assert {"model.onnx", "generation.json", "tokenizer.json", "verification.json"} <= {
        p.name for p in out.iterdir()}


@pytest.mark.parametrize("model_type, task", [("bart", "text2text-generation"),
                                              ("whisper", "automatic-speech-recognition-with-past")])
def test_split_configs_make_dummy_inputs_for_both_graphs(model_type, task):
    cfg = wrap_model(tiny_model(model_type, task), task).onnx_config
    dummy = cfg.generate_dummy_inputs("np", batch_size=3)
    assert list(dummy) == list(cfg.inputs)
    assert all(v.shape[0] == 3 for v in dummy.values())
    if model_type == "bart":    # without past the decoder sees the whole encoder output
        assert dummy["encoder_hidden_states"].shape[1] == dummy["encoder_attention_mask"].shape[1]
    with pytest.raises(ConfigError, match="unknown dummy shape"):
        cfg.generate_dummy_inputs("np", frames=3)
