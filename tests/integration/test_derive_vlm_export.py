"""Image-text-to-text models (LLaVA-style) derive, export and verify: placeholders in
``input_ids`` filled with the probed number of image features, batch and text length dynamic,
the image size static; a model whose features come as a list per image has a static batch."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
from support import random_model

from shapeprof.export import export

TEXT = {"vocab_size": 128, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "intermediate_size": 37, "max_position_embeddings": 128}
VISION = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37}


def graph_inputs(path: Path) -> list[tuple[str, ...]]:
    graph = onnx.load(str(path)).graph
    return [(v.name, *(d.dim_param or str(d.dim_value) for d in v.type.tensor_type.shape.dim))
            for v in graph.input]


def test_internvl_is_derived_with_dynamic_batch_and_text(tmp_path: Path) -> None:
    model = random_model("internvl", image_token_id=100, text_config={"model_type": "qwen2", **TEXT},
                  vision_config={"model_type": "internvl_vision", **VISION, "image_size": [32, 32],
                                 "patch_size": [8, 8]})
    result = export(model, tmp_path / "out", "feature-extraction", config="auto")
    assert result.verification.passed and result.config == "derived"
    derivation = json.loads((tmp_path / "out" / "shapeprof_export.json").read_text())["derivation"]
    assert derivation["image_tokens"] == 4 and derivation["static_axes"] == ["height", "width"]
    assert derivation["static_because"].startswith("the image size 32x32 fixes the number of image placeholder")
    assert graph_inputs(tmp_path / "out" / "model.onnx") == [
        ("input_ids", "batch_size", "sequence_length"), ("attention_mask", "batch_size", "sequence_length"),
        ("pixel_values", "batch_size", "3", "32", "32")]
    shapes = {c.label: c.shape for c in result.verification.checks}
    assert shapes["smallest"]["sequence_length"] == 4 + 2 and shapes["large"]["batch_size"] == 3


def test_llava_features_per_image_make_the_batch_static(tmp_path: Path) -> None:
    model = random_model("llava", image_token_index=100, text_config={"model_type": "llama", **TEXT},
                  vision_config={"model_type": "clip_vision_model", **VISION, "image_size": 32, "patch_size": 8})
    result = export(model, tmp_path / "out", "feature-extraction", config="auto")
    assert result.verification.passed and result.config == "derived"
    assert result.derivation["image_tokens"] == 16     # 4x4 patches, the CLS token dropped
    assert "batch is 1" in result.derivation["static_because"]
    assert graph_inputs(tmp_path / "out" / "model.onnx")[0] == ("input_ids", "1", "sequence_length")
