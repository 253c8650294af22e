"""Each derivation rule of shapeprof.onnx.derive.towers on a tiny model nobody registered: exported
and verified exactly as registered configs (two towers, layout boxes, table token types, pooled)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import random_model

from shapeprof.export import export

SMALL = {"vocab_size": 128, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
         "intermediate_size": 37, "max_position_embeddings": 64}
TOWER = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37}


CASES = {
    "metaclip_2": ("zero-shot-image-classification", "TextAndVisionOnnxConfig",
                   {"projection_dim": 16, "text_config": {**TOWER, "vocab_size": 128, "max_position_embeddings": 32},
                    "vision_config": {**TOWER, "image_size": 32, "patch_size": 8}}),
    # float boxes (integer ones are the registered LayoutLM's, tested with it)
    "bros": ("feature-extraction", "LayoutEncoderOnnxConfig", {**SMALL, "hidden_size": 64}),
    "tapas": ("feature-extraction", "TableEncoderOnnxConfig", SMALL),
    "dpr": ("feature-extraction", "PooledEncoderOnnxConfig", SMALL),
    "mgp-str": ("feature-extraction", "SplitLogitsVisionOnnxConfig",
                {"image_size": [16, 32], "patch_size": 8, "hidden_size": 32, "num_hidden_layers": 1,
                 "num_attention_heads": 4, "mlp_ratio": 2.0, "max_token_length": 6, "num_character_labels": 11,
                 "num_bpe_labels": 13, "num_wordpiece_labels": 17}),
}


@pytest.mark.parametrize("model_type", list(CASES))
def test_derived_and_verified(model_type: str, tmp_path: Path) -> None:
    task, family, overrides = CASES[model_type]
    result = export(random_model(model_type, task, **overrides), tmp_path / "out", task, config="auto")
    assert result.config == "derived" and result.verification.passed
    assert len(result.verification.checks) >= 3      # smallest, trace and large shapes
    info = json.loads((tmp_path / "out" / "shapeprof_export.json").read_text())
    assert info["config"] == "derived" and info["derivation"]["family"] == family
    if model_type == "mgp-str":   # one output per head of the logits tuple
        assert list(info["outputs"]) == ["logits.0", "logits.1", "logits.2"]
