"""Audio-text-to-text derivation (Qwen2-Audio, GLM-ASR, ...): the audio placeholders in the dummy
text match the probed audio features, frames and features are static, and the models whose audio
path needs more inputs are refused in one line naming the part."""

from __future__ import annotations

from typing import Any

import pytest

from shapeprof.onnx.derive import DeriveError, derive_onnx_config
from shapeprof.onnx.derive.audio_llm import AudioTextToTextOnnxConfig

TEXT = {"vocab_size": 128, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 4,
        "num_key_value_heads": 2, "intermediate_size": 37, "max_position_embeddings": 256}
AUDIO = {"num_mel_bins": 16, "num_attention_heads": 4, "max_source_positions": 8}


def config(model_type: str, **kwargs: Any) -> Any:
    from transformers import AutoConfig

    return AutoConfig.for_model(model_type, **kwargs)


def qwen2_audio() -> Any:
    audio = {**AUDIO, "d_model": 32, "encoder_layers": 1, "encoder_attention_heads": 4, "encoder_ffn_dim": 37}
    return config("qwen2_audio", audio_token_index=100, text_config={"model_type": "qwen2", **TEXT},
                  audio_config=audio)


def test_qwen2_audio_counts_its_placeholders_on_the_audio_tower() -> None:
    cfg = qwen2_audio()
    cls = derive_onnx_config(cfg, "feature-extraction")
    assert issubclass(cls, AudioTextToTextOnnxConfig)
    # Whisper-style tower: only 2 * max_source_positions frames; conv stride 2 then pooling by 2
    assert cls.DERIVATION["num_frames"] == 16 and cls.DERIVATION["audio_tokens"] == 4
    assert cls.DERIVATION["static_because"].startswith("16 frames of 16 features fix the number of audio")
    onnx_cfg = cls(cfg, task="feature-extraction")
    assert onnx_cfg.inputs["input_features"] == {0: "batch_size", 1: "feature_size", 2: "num_frames"}
    assert onnx_cfg.axis_bounds()["sequence_length"] == (6, 256)
    dummy = onnx_cfg.generate_dummy_inputs("np", batch_size=3, sequence_length=12)
    ids, mask = dummy["input_ids"], dummy["attention_mask"]
    assert ((ids == 100).sum(axis=1) == 4).all() and ids.max() < 128 and mask[:, :6].all()
    assert dummy["input_features"].shape == (3, 16, 16) and dummy["feature_attention_mask"].shape == (3, 16)


def flamingo_audio() -> dict[str, Any]:
    return {**AUDIO, "model_type": "audioflamingo3_encoder", "hidden_size": 32, "num_hidden_layers": 1,
            "intermediate_size": 37}


def test_musicflamingo_gets_its_placeholders_counted_on_the_tower() -> None:
    """get_audio_features takes input_ids (placeholder positions for its time embedding)."""
    cfg = config("musicflamingo", audio_token_id=100, audio_bos_token_id=101, audio_eos_token_id=102,
                 text_config={"model_type": "qwen2", **TEXT}, audio_config=flamingo_audio())
    cls = derive_onnx_config(cfg, "feature-extraction")
    assert cls.DERIVATION["num_frames"] == 16 and cls.DERIVATION["audio_tokens"] == 4
    assert cls(cfg, task="feature-extraction").inputs["input_features_mask"] == {0: "batch_size", 1: "num_frames"}


def test_moss_audio_features_run_without_the_optional_padding_mask() -> None:
    """get_audio_features requires padding_mask, which forward takes as optional and passes on as None."""
    audio = {**flamingo_audio(), "model_type": "moss_transcribe_diarize_encoder"}
    cfg = config("moss_transcribe_diarize", audio_token_id=100, text_config={"model_type": "qwen3", **TEXT},
                 audio_config=audio)
    cls = derive_onnx_config(cfg, "feature-extraction")
    assert cls.DERIVATION["audio_tokens"] >= 1 and "padding_mask" not in cls(cfg, task="feature-extraction").inputs


@pytest.mark.parametrize("model_type, task, part", [
    ("qwen2_audio", "text2text-generation-with-past", "task: only feature-extraction"),
    ("voxtral", "feature-extraction", "inputs: the config names no audio placeholder token id"),
])
def test_refusals_name_the_part(model_type: str, task: str, part: str) -> None:
    if model_type == "voxtral":   # audio_token_id defaults to None
        cfg = config("voxtral", text_config={"model_type": "llama", **TEXT},
                     audio_config={**AUDIO, "model_type": "voxtral_encoder", "hidden_size": 32,
                                   "num_hidden_layers": 1, "intermediate_size": 37})
    else:
        cfg = qwen2_audio()
    with pytest.raises(DeriveError, match=part + ".*register a class"):
        derive_onnx_config(cfg, task)


def test_voxtral_realtime_adds_audio_so_the_text_length_is_static() -> None:
    audio = {"model_type": "voxtral_realtime_encoder", "vocab_size": 128, "hidden_size": 32, "intermediate_size": 37,
             "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 4, "head_dim": 8,
             "num_mel_bins": 16}
    text = {"model_type": "voxtral_realtime_text", **TEXT, "head_dim": 8}
    cfg = config("voxtral_realtime", text_config=text, audio_config=audio)
    cls = derive_onnx_config(cfg, "feature-extraction")
    onnx_cfg = cls(cfg, task="feature-extraction")
    tokens = cls.DERIVATION["audio_tokens"]
    assert cls.DERIVATION["audio_token"] is None and "added to the text embeddings" in cls.DERIVATION["static_because"]
    assert onnx_cfg.axis_bounds()["sequence_length"] == (tokens, tokens) and "sequence_length" in cls.STATIC_AXES
    assert cls.PROBED_OUTPUTS["last_hidden_state"] == {0: "batch_size"}


def test_the_census_exports_decoder_only_audio_lms_as_feature_extraction(census: Any) -> None:
    """transformers lists Voxtral under its seq2seq mappings; shapeprof's seq2seq tasks split an
    encoder and a decoder, so the census exports the audio LM's hidden states, with a tokenizer."""
    from shapeprof.onnx.builtin import default_registry

    registry = default_registry()
    assert census.decoder_only_seq2seq("voxtral") and not census.decoder_only_seq2seq("t5")
    assert census.main_task("voxtral", registry) == census.main_task("qwen2_audio", registry) == "feature-extraction"
    assert census.main_task("whisper", registry) == "automatic-speech-recognition-with-past"
    assert census.main_task("bart", registry) == "text2text-generation-with-past"
