"""Derived speech configs: spectrogram encoders (``input_features``, frames dynamic, feature axis
static) and speech-to-text encoder-decoders split with the registered Whisper's names."""

from __future__ import annotations

from typing import Any

import pytest

from shapeprof.onnx.derive import DeriveError, derive_onnx_config

ENCODER = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 64,
           "subsampling_conv_channels": 8, "num_mel_bins": 24}


def parakeet_ctc() -> Any:
    from transformers import AutoConfig

    return AutoConfig.for_model("parakeet_ctc", vocab_size=40, encoder_config=ENCODER)


def speech_to_text(**overrides: Any) -> Any:
    from transformers import AutoConfig

    sizes = {"vocab_size": 64, "d_model": 32, "encoder_layers": 1, "decoder_layers": 2, "encoder_attention_heads": 4,
             "decoder_attention_heads": 4, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64, "conv_channels": 16,
             "input_feat_per_channel": 24, "max_source_positions": 256, "max_target_positions": 64}
    return AutoConfig.for_model("speech_to_text", **{**sizes, **overrides})


def test_spectrogram_encoders_take_features_with_dynamic_frames() -> None:
    from shapeprof.onnx.derive.speech import SpectrogramFeaturesOnnxConfig

    config = parakeet_ctc()
    cls = derive_onnx_config(config, "automatic-speech-recognition")
    assert issubclass(cls, SpectrogramFeaturesOnnxConfig)
    cfg = cls(config, task="automatic-speech-recognition")
    assert cfg.inputs == {"input_features": {0: "batch_size", 1: "num_frames", 2: "feature_size"},
                          "attention_mask": {0: "batch_size", 1: "num_frames"}}
    assert cfg.axis_bounds()["feature_size"] == (24, 24)     # from encoder_config.num_mel_bins
    assert cls.DERIVATION["preprocessor"] == "ParakeetFeatureExtractor" and cls.DERIVATION["min_frames"] >= 8
    inputs = cfg.generate_dummy_inputs("pt", batch_size=2, num_frames=40, feature_size=24)
    assert tuple(inputs["input_features"].shape) == (2, 40, 24)
    assert inputs["attention_mask"].min() == 0 and inputs["attention_mask"].max() == 1


def test_speech_encoder_decoders_split_as_whisper() -> None:
    from shapeprof.onnx.builtin import default_registry
    from shapeprof.testing.tiny import tiny_config

    task = "automatic-speech-recognition-with-past"
    cls = derive_onnx_config(speech_to_text(), task)
    cfg = cls(speech_to_text(), task=task)
    assert cfg.is_split and cls.DERIVATION["cache"] == {"layers": 2, "heads": 4, "head_dim": 8}
    whisper = default_registry().get("whisper")(tiny_config("whisper"), task=task)
    decoder_names = lambda c: [n for n in c.inputs if n != "input_features"]   # noqa: E731
    assert decoder_names(cfg)[:2] == decoder_names(whisper)[:2] == ["input_ids", "encoder_hidden_states"]
    assert [n for n in cfg.outputs if n.startswith("present.0.")] == [n for n in whisper.outputs
                                                                       if n.startswith("present.0.")]
    assert cfg.inputs["input_features"] == {0: "batch_size", 1: "num_frames", 2: "feature_size"}


def test_a_speech_encoder_decoder_without_generation_is_refused_in_one_line() -> None:
    with pytest.raises(DeriveError, match=r"task: a speech encoder-decoder is derived for automatic-speech-rec"):
        derive_onnx_config(speech_to_text(), "feature-extraction")
