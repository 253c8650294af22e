"""Audio-text-to-text models derive, export and verify: the audio placeholders in ``input_ids``
filled with the features ``get_audio_features`` gives for a static spectrogram, batch and text
length dynamic."""

from __future__ import annotations

from pathlib import Path

import onnx

from shapeprof.export import export
from shapeprof.onnx.tasks import auto_class


def test_glmasr_is_derived_with_dynamic_batch_and_text(tmp_path: Path) -> None:
    import torch
    from transformers import AutoConfig

    text = {"model_type": "llama", "vocab_size": 128, "hidden_size": 32, "num_hidden_layers": 1,
            "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 37,
            "max_position_embeddings": 128}
    # intermediate_size 4 x hidden: the projector merges 4 frames
    audio = {"model_type": "glmasr_encoder", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 4,
             "num_key_value_heads": 4, "intermediate_size": 128, "num_mel_bins": 16}
    torch.manual_seed(0)
    config = AutoConfig.for_model("glmasr", audio_token_id=100, text_config=text, audio_config=audio)
    model = auto_class("feature-extraction", "glmasr").from_config(config).eval()
    result = export(model, tmp_path / "out", "feature-extraction", config="auto")
    assert result.verification.passed and result.config == "derived"
    # 16 frames (the fewest probed) -> 2 features after the conv stride and the projector's merge
    assert result.derivation["audio_tokens"] == 2 and result.derivation["num_frames"] == 16
    assert result.derivation["static_axes"] == ["feature_size", "num_frames"]
    graph = onnx.load(str(tmp_path / "out" / "model.onnx")).graph
    dims = [(v.name, *(d.dim_param or str(d.dim_value) for d in v.type.tensor_type.shape.dim)) for v in graph.input]
    assert dims == [("input_ids", "batch_size", "sequence_length"), ("attention_mask", "batch_size", "sequence_length"),
                    ("input_features", "batch_size", "16", "16"), ("input_features_mask", "batch_size", "16")]
    shapes = {c.label: c.shape for c in result.verification.checks}
    assert shapes["smallest"]["sequence_length"] == 2 + 2 and shapes["large"]["batch_size"] == 3


def test_omniasr_ctc_takes_a_channel_axis_and_is_verified(tmp_path: Path) -> None:
    """OmniASR's input_values are (batch, 1, samples); its convolutions live in audio_config."""
    import torch
    from transformers import AutoConfig

    audio = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 37,
             "conv_dim": [16, 16], "conv_kernel": [10, 3], "conv_stride": [5, 2], "num_conv_pos_embeddings": 16,
             "num_conv_pos_embedding_groups": 2}
    torch.manual_seed(0)
    config = AutoConfig.for_model("omniasr_ctc", vocab_size=32, audio_config=audio)
    model = auto_class("automatic-speech-recognition", "omniasr_ctc").from_config(config).eval()
    result = export(model, tmp_path / "out", "automatic-speech-recognition", config="auto")
    assert result.verification.passed and result.config == "derived"
    graph = onnx.load(str(tmp_path / "out" / "model.onnx")).graph
    assert [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim] == [
        "batch_size", 1, "audio_sequence_length"]
    shapes = {c.label: c.shape for c in result.verification.checks}
    assert shapes["smallest"]["audio_sequence_length"] == 30   # two frames through kernels 10/5, 3/2
