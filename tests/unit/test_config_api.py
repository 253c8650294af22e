"""The seed's public config API: names, signatures, defaults and contracts."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import shapeprof
from shapeprof import (
    BertOnnxConfig,
    DistilBertOnnxConfig,
    OnnxConfig,
    OnnxConfigWithPast,
    OnnxSeq2SeqConfigWithPast,
    RobertaOnnxConfig,
    TextAndVisionOnnxConfig,
    TextDecoderOnnxConfig,
    TextEncoderOnnxConfig,
    TextSeq2SeqOnnxConfig,
    VisionOnnxConfig,
)
from shapeprof.errors import ConfigError
from shapeprof.testing.tiny import tiny_config


def params(fn):
    return {n: p.default for n, p in inspect.signature(fn).parameters.items()}


def test_seed_signatures():
    assert params(OnnxConfig.__init__) == {
        "self": inspect._empty, "config": inspect._empty, "task": "default", "patching_specs": None}
    for cls in (OnnxConfigWithPast, OnnxSeq2SeqConfigWithPast, TextDecoderOnnxConfig, TextSeq2SeqOnnxConfig):
        assert params(cls.__init__)["use_past"] is False
        assert params(cls.__init__)["task"] == "default"
    assert params(OnnxConfig.generate_dummy_inputs)["framework"] == "pt"
    assert params(OnnxConfigWithPast.with_past) == {"config": inspect._empty, "task": "default"}
    assert list(params(OnnxSeq2SeqConfigWithPast.get_encoder_onnx_config)) == ["self", "config"]
    assert params(OnnxSeq2SeqConfigWithPast.get_decoder_onnx_config) == {
        "self": inspect._empty, "config": inspect._empty, "task": "default", "use_past": False}


def test_three_levels():
    for level2 in (TextEncoderOnnxConfig, VisionOnnxConfig, TextAndVisionOnnxConfig):
        assert issubclass(level2, OnnxConfig)
    assert issubclass(TextDecoderOnnxConfig, OnnxConfigWithPast)
    assert issubclass(TextSeq2SeqOnnxConfig, OnnxSeq2SeqConfigWithPast)
    assert BertOnnxConfig.__mro__[1] is TextEncoderOnnxConfig


def test_importing_the_package_does_not_import_torch():
    import subprocess
    import sys

    code = "import shapeprof, sys; shapeprof.Registry; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert set(shapeprof.__all__) >= {"OnnxConfig", "BertOnnxConfig", "export"}


def test_bert_inputs_outputs_and_synonyms():
    cfg = BertOnnxConfig(tiny_config("bert"), task="sequence-classification")
    assert cfg.task == "text-classification"
    assert cfg.inputs == {n: {0: "batch_size", 1: "sequence_length"}
                          for n in ("input_ids", "attention_mask", "token_type_ids")}
    assert cfg.outputs == {"logits": {0: "batch_size"}}
    assert BertOnnxConfig(tiny_config("bert")).task == "feature-extraction"  # "default"
    mc = BertOnnxConfig(tiny_config("bert"), task="multiple-choice")
    assert mc.inputs["input_ids"] == {0: "batch_size", 1: "num_choices", 2: "sequence_length"}
    qa = BertOnnxConfig(tiny_config("bert"), task="question-answering")
    assert set(qa.outputs) == {"start_logits", "end_logits"}


def test_roberta_family_limits_and_inputs():
    cfg = RobertaOnnxConfig(tiny_config("roberta"))
    assert list(cfg.inputs) == ["input_ids", "attention_mask"]
    assert cfg.axis_bounds()["sequence_length"] == (1, 512)  # 514 positions - offset 2


def test_normalized_config_renames():
    cfg = DistilBertOnnxConfig(tiny_config("distilbert"))
    n = cfg._normalized_config
    assert (n.hidden_size, n.num_attention_heads, n.num_layers) == (32, 4, 2)


def test_dummy_inputs_defaults_and_content():
    cfg = BertOnnxConfig(tiny_config("bert"))
    d = cfg.generate_dummy_inputs()
    assert {k: tuple(v.shape) for k, v in d.items()} == {k: (2, 16) for k in cfg.inputs}
    ids = d["input_ids"].numpy()
    assert ids.min() >= 0 and ids.max() < 128
    mask = d["attention_mask"].numpy()
    assert set(np.unique(mask)) == {0, 1} and mask.sum(axis=1).min() >= 1
    npd = cfg.generate_dummy_inputs("np", batch_size=3, sequence_length=5)
    assert isinstance(npd["input_ids"], np.ndarray) and npd["input_ids"].shape == (3, 5)
    mc = BertOnnxConfig(tiny_config("bert"), task="multiple-choice").generate_dummy_inputs("np")
    assert mc["input_ids"].shape == (2, 4, 16)


@pytest.mark.parametrize("kwargs, match", [
    ({"framework": "tf"}, "unknown framework"),
    ({"batch_size": 0}, "positive integers"),
    ({"sequnce_length": 8}, "unknown dummy shape"),
])
def test_dummy_inputs_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        BertOnnxConfig(tiny_config("bert")).generate_dummy_inputs(**kwargs)


def test_unsupported_task_lists_supported():
    with pytest.raises(ConfigError, match="supported tasks: feature-extraction, fill-mask"):
        BertOnnxConfig(tiny_config("bert"), task="text-generation")
    with pytest.raises(ConfigError, match="unknown task 'translate'"):
        BertOnnxConfig(tiny_config("bert"), task="translate")


def test_with_past_contract():
    class TinyDecoder(TextDecoderOnnxConfig):
        pass

    cfg = TinyDecoder.with_past(tiny_config("bert"), task="text-generation")
    assert cfg.use_past is True
    assert "past_key_values.1.value" in cfg.inputs
    assert cfg.inputs["attention_mask"][1] == "past_sequence_length + sequence_length"
    assert cfg.outputs["present.0.key"] == {0: "batch_size", 2: "past_sequence_length + sequence_length"}
    assert "past_key_values.0.key" not in TinyDecoder(tiny_config("bert"), task="text-generation").inputs


def test_patching_specs_are_scoped():
    class Target:
        def f(self):
            return "original"

    from shapeprof import PatchingSpec

    cfg = BertOnnxConfig(tiny_config("bert"), patching_specs=[
        PatchingSpec(Target, "f", custom_op=lambda self: "patched")])
    with cfg.patch_model_for_export(None):
        assert Target().f() == "patched"
    assert Target().f() == "original"


def test_public_names_are_curated_sorted_and_resolve():
    names = shapeprof.__all__
    assert names == sorted(names) and len(set(names)) == len(names)
    assert {"TextDecoderOnnxConfig", "TextSeq2SeqOnnxConfig", "VisionOnnxConfig", "AudioOnnxConfig",
            "AudioToTextOnnxConfig", "TextAndVisionOnnxConfig", "GPT2OnnxConfig", "LlamaOnnxConfig",
            "T5OnnxConfig", "BartOnnxConfig", "WhisperOnnxConfig", "ViTOnnxConfig", "Wav2Vec2OnnxConfig",
            "LayoutLMv3OnnxConfig", "Architecture", "Registry", "default_registry", "register",
            "export", "export_with_profile", "profile_dataset", "run_benchmark", "load_model"} <= set(names)
    for name in names:
        assert getattr(shapeprof, name) is not None, name
    with pytest.raises(AttributeError):
        shapeprof.NoSuchOnnxConfig  # noqa: B018


def test_base_imports_no_level_two_module():
    """Level 1 knows no child: importing base.py loads only level-1 helpers."""
    import ast
    import subprocess
    import sys

    import shapeprof.onnx.base as base

    code = ("import sys, shapeprof.onnx.base; "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('shapeprof.onnx.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {m.removeprefix("shapeprof.onnx.") for m in out.stdout.split()}
    assert loaded <= {"base", "tasks", "dummy", "normalized", "registry"}, loaded
    level2 = {"text", "vision", "audio", "multimodal", "seq2seq", "past", "models"}
    tree = ast.parse(open(base.__file__).read())
    imported = {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1}
    assert not imported & level2, imported
