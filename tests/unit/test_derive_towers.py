"""Derivation of text-and-image and text-plus-extra-input models (shapeprof.onnx.derive.towers):
two towers as the registered CLIP, layout boxes, table token types, pooled encoders, and the clean
refusals of inputs nobody produces."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from shapeprof import TextAndVisionOnnxConfig
from shapeprof.onnx.builtin import default_registry
from shapeprof.onnx.derive import DeriveError, derive_onnx_config
from shapeprof.testing.tiny import tiny_config

SMALL = {"vocab_size": 128, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
         "intermediate_size": 37}
TOWER = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37}


def config(model_type: str, **overrides: Any) -> Any:
    from transformers import AutoConfig

    return AutoConfig.for_model(model_type, **{**SMALL, **overrides})


def io(cls: type, cfg: Any, task: str) -> tuple[dict[str, Any], dict[str, Any]]:
    onnx_cfg = cls(cfg, task=task)
    return onnx_cfg.inputs, onnx_cfg.outputs


@pytest.mark.parametrize("model_type, task", [("clip", "zero-shot-image-classification"),
                                              ("layoutlm", "feature-extraction")])
def test_derived_two_towers_and_layout_match_the_registered_classes(model_type: str, task: str) -> None:
    cfg = tiny_config(model_type)
    derived = derive_onnx_config(cfg, task)
    assert io(derived, cfg, task) == io(default_registry().get(model_type), cfg, task)


def test_two_towers_with_roberta_positions_bound_the_text_length() -> None:
    from transformers import AltCLIPConfig

    cfg = AltCLIPConfig(projection_dim=16, text_config={**TOWER, "vocab_size": 128, "max_position_embeddings": 40,
                                                        "project_dim": 16, "pad_token_id": 1},
                        vision_config={**TOWER, "image_size": 32, "patch_size": 8})
    cls = derive_onnx_config(cfg, "zero-shot-image-classification")
    assert issubclass(cls, TextAndVisionOnnxConfig) and cls.POSITION_OFFSET == 2
    onnx_cfg = cls(cfg, task="zero-shot-image-classification")
    assert onnx_cfg.axis_bounds()["sequence_length"] == (1, 38)
    assert onnx_cfg.axis_bounds()["height"] == (32, 32)


@pytest.mark.parametrize("model_type, overrides, dtype, limit", [
    ("lilt", {"hidden_size": 48, "max_2d_position_embeddings": 64}, np.int64, 64),
    ("bros", {"hidden_size": 64}, np.float32, 1),
])
def test_layout_boxes_are_valid_for_the_model(model_type: str, overrides: dict[str, Any], dtype: Any,
                                              limit: int) -> None:
    cfg = config(model_type, max_position_embeddings=64, **overrides)
    cls = derive_onnx_config(cfg, "feature-extraction")
    boxes = cls(cfg, task="feature-extraction").generate_dummy_inputs("np", batch_size=3, sequence_length=6)["bbox"]
    assert boxes.shape == (3, 6, 4) and boxes.dtype == dtype
    assert (boxes >= 0).all() and (boxes <= limit).all()
    assert (boxes[..., 0] <= boxes[..., 2]).all() and (boxes[..., 1] <= boxes[..., 3]).all()


def test_table_token_types_have_one_id_per_table() -> None:
    cfg = config("tapas", max_position_embeddings=64, type_vocab_sizes=[3, 4, 5, 6, 7, 8, 9])
    cls = derive_onnx_config(cfg, "feature-extraction")
    types = cls(cfg, task="feature-extraction").generate_dummy_inputs("np", batch_size=4,
                                                                     sequence_length=50)["token_type_ids"]
    assert types.shape == (4, 50, 7)
    assert (types.max(axis=(0, 1)) < np.arange(3, 10)).all() and (types.max(axis=(0, 1)) > 0).all()


def test_pooled_encoders_export_their_pooled_output() -> None:
    cfg = config("dpr", max_position_embeddings=64)
    cls = derive_onnx_config(cfg, "feature-extraction")
    assert io(cls, cfg, "feature-extraction")[1] == {"pooler_output": {0: "batch_size"}}


def test_single_stream_text_and_image_takes_both_preprocessors_inputs() -> None:
    cfg = config("vilt", image_size=32, patch_size=8, max_position_embeddings=16)
    cls = derive_onnx_config(cfg, "feature-extraction")
    inputs, outputs = io(cls, cfg, "feature-extraction")
    assert list(inputs) == ["input_ids", "attention_mask", "token_type_ids", "pixel_values", "pixel_mask"]
    assert cls.DERIVATION["image_processor"] == "ViltImageProcessorPil"
    assert outputs["last_hidden_state"] == {0: "batch_size"}    # text tokens + image patches: derived


@pytest.mark.parametrize("model_type, overrides, part", [
    ("udop", {"d_model": 32, "d_kv": 8, "d_ff": 37, "num_layers": 1, "num_heads": 4},
     "family: an encoder-decoder taking 'bbox'"),
])
def test_inputs_nobody_produces_are_refused_in_one_line(model_type: str, overrides: dict[str, Any],
                                                        part: str) -> None:
    with pytest.raises(DeriveError, match=part + ".*register") as info:
        derive_onnx_config(config(model_type, **overrides), "feature-extraction")
    assert "\n" not in str(info.value)


def test_a_vision_language_model_is_not_taken_for_two_towers() -> None:
    from transformers import Blip2Config

    cfg = Blip2Config(vision_config={**TOWER, "image_size": 32, "patch_size": 8},
                      qformer_config={**TOWER, "vocab_size": 128, "encoder_hidden_size": 32},
                      text_config={"model_type": "opt", **TOWER, "vocab_size": 128, "ffn_dim": 37,
                                   "word_embed_proj_dim": 32}, num_query_tokens=4)
    with pytest.raises(DeriveError, match="image-text-to-text model .*register"):
        derive_onnx_config(cfg, "zero-shot-image-classification")
