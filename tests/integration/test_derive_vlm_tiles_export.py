"""Tiled images (LLaVA-NeXT), several images per row with bucketed patch positions (Idefics2)
and a vision tower that unrolls its batch (Pixtral) derive, export and verify."""

from __future__ import annotations

from pathlib import Path

import onnx
from support import random_model

from shapeprof.export import export

TEXT = {"vocab_size": 128, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 4,
        "num_key_value_heads": 2, "intermediate_size": 37, "max_position_embeddings": 256}
VISION = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 37}


def pixel_shape(path: Path) -> tuple[str, ...]:
    graph = onnx.load(str(path)).graph
    value = next(v for v in graph.input if v.name == "pixel_values")
    return tuple(d.dim_param or str(d.dim_value) for d in value.type.tensor_type.shape.dim)


def test_llava_next_takes_its_tiles_in_a_fifth_dimension(tmp_path: Path) -> None:
    model = random_model("llava_next", image_token_index=100, image_grid_pinpoints=[[32, 64], [64, 32]],
                  text_config={"model_type": "llama", **TEXT},
                  vision_config={"model_type": "clip_vision_model", **VISION, "image_size": 32, "patch_size": 16})
    result = export(model, tmp_path / "out", "feature-extraction", config="auto")
    assert result.verification.passed and result.config == "derived"
    # a 32x32 image on the 32x64 grid: 2 tiles and the overview, 4 patches each
    assert pixel_shape(tmp_path / "out" / "model.onnx") == ("1", "3", "3", "32", "32")


def test_idefics2_bucketed_patch_positions_export(tmp_path: Path) -> None:
    model = random_model("idefics2", image_token_id=100, text_config={"model_type": "mistral", **TEXT},
                  perceiver_config={"hidden_size": 32, "resampler_n_latents": 4, "resampler_depth": 1,
                                    "resampler_n_heads": 2, "resampler_head_dim": 8, "num_key_value_heads": 1},
                  vision_config={**VISION, "image_size": 32, "patch_size": 8})
    result = export(model, tmp_path / "out", "feature-extraction", config="auto")
    assert result.verification.passed and result.config == "derived"
    assert pixel_shape(tmp_path / "out" / "model.onnx")[1:] == ("1", "3", "32", "32")   # one image per row


def test_pixtral_unrolled_batch_is_static(tmp_path: Path) -> None:
    model = random_model("pixtral", hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=4,
                  head_dim=8, image_size=32, patch_size=8)
    result = export(model, tmp_path / "out", "feature-extraction", config="auto")
    assert result.verification.passed and result.config == "derived"
    assert "batch: " in result.derivation["static_because"]
    assert pixel_shape(tmp_path / "out" / "model.onnx") == ("1", "3", "32", "32")
