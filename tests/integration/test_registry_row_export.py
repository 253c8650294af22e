"""An architecture added as one row of an isolated registry exports and verifies end to end."""

from __future__ import annotations

from shapeprof import Architecture, Registry, TextEncoderOnnxConfig
from shapeprof.export import export
from shapeprof.loading import wrap_model
from shapeprof.onnx.tasks import ENCODER_TASKS


def test_rename_only_row_exports_and_verifies(tmp_path):
    import torch
    from transformers import CamembertConfig, CamembertForSequenceClassification

    row = Architecture("camembert", TextEncoderOnnxConfig, ENCODER_TASKS,
                       {"TEXT_INPUTS": ("input_ids", "attention_mask"), "POSITION_OFFSET": 2},
                       name="CamembertOnnxConfig")
    config = CamembertConfig(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                             intermediate_size=37, max_position_embeddings=130, pad_token_id=1)
    torch.manual_seed(0)
    model = CamembertForSequenceClassification(config).eval()
    loaded = wrap_model(model, "text-classification", registry=Registry([row]))

    result = export(loaded, tmp_path / "out")

    assert result.verification.passed
    assert (result.model_type, list(result.inputs)) == ("camembert", ["input_ids", "attention_mask"])
    assert result.plan.bounds["sequence_length"] == (1, 128)
