"""Grid vision-language models (Qwen2-VL style): derived with one fixed patch grid, exported with
the M-RoPE index vectorised, and verified against the model's own code."""

from __future__ import annotations

from typing import Any

import pytest

from shapeprof.onnx.derive import DeriveError, derive_onnx_config
from shapeprof.onnx.derive.grid_vlm import GridImageTextOnnxConfig, rope_index_for

IMAGE = 100
TEXT = {"model_type": "qwen2_vl_text", "vocab_size": 128, "hidden_size": 32, "num_hidden_layers": 1,
        "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 37,
        "max_position_embeddings": 256,
        # head 8: the rotary half-dimension 4 split over (temporal, height, width); a small theta, so
        # that the height and width frequencies (the lowest) turn enough for verification to see them
        "rope_parameters": {"rope_type": "default", "rope_theta": 16.0, "mrope_section": [2, 1, 1]}}
VISION = {"depth": 1, "embed_dim": 32, "hidden_size": 32, "num_heads": 4, "patch_size": 4, "spatial_merge_size": 2}


def qwen2_vl() -> Any:
    import torch
    from transformers import AutoConfig, AutoModel

    cfg = AutoConfig.for_model("qwen2_vl", image_token_id=IMAGE, video_token_id=101, text_config=TEXT,
                               vision_config=VISION)
    torch.manual_seed(0)
    return AutoModel.from_config(cfg).eval()


def test_vectorised_rope_index_matches_the_models_own() -> None:
    """One or two images per row, right and left padding: the same 3-D positions and deltas."""
    import torch

    model = qwen2_vl()
    grid = torch.tensor([1, 4, 6])
    block = model.get_vision_position_ids(0, grid, 1, 2)      # 6 tokens: 2 rows x 3 columns
    rows = [[5, *[IMAGE] * 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
            [5, 6, 7, *[IMAGE] * 6, 9, *[IMAGE] * 6, 11, 12, 13, 14],
            [5, *[IMAGE] * 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]]
    ids = torch.tensor(rows)
    mask = torch.ones_like(ids)
    mask[0, -4:] = 0            # right padding
    ids[2] = torch.roll(ids[2], 3)
    mask[2, :3] = 0             # left padding before the image
    types = (ids == IMAGE).int()
    grids = torch.stack([grid] * 4)
    expected = model.get_rope_index(ids, types, image_grid_thw=grids, attention_mask=mask)
    ours = rope_index_for(tuple(map(tuple, block.tolist())))(model, ids, types, grids, None, mask)
    assert torch.equal(ours[0], expected[0]) and torch.equal(ours[1], expected[1])
    # the model's output depends on them: heights and widths swapped give other hidden states
    swapped = ours[0][[0, 2, 1]]
    with torch.no_grad():
        right, wrong = (model(input_ids=ids, attention_mask=mask, position_ids=p).last_hidden_state
                        for p in (ours[0], swapped))
    assert not torch.equal(ours[0], swapped) and (right - wrong)[mask.bool()].abs().max() > 1e-3


def test_qwen2_vl_is_derived_exported_and_verified(tmp_path: Any) -> None:
    from shapeprof.export import export

    model = qwen2_vl()
    result = export(model, tmp_path / "onnx", task="feature-extraction", config="auto")
    assert result.config == "derived" and result.verification.passed
    lengths = {c.shape["sequence_length"] for c in result.verification.checks}
    assert len(lengths) == 3                                    # text length is dynamic
    derivation = result.derivation
    assert derivation["image_grid_thw"] == [1, 4, 6] and derivation["image_tokens"] == 6
    assert derivation["pixel_values_shape"] == [24, 3 * 2 * 4 * 4]
    assert "verified against the model's get_rope_index" in derivation["mrope"]


def test_grid_config_has_static_batch_and_patches() -> None:
    model = qwen2_vl()
    cls = derive_onnx_config(model, "feature-extraction")
    assert issubclass(cls, GridImageTextOnnxConfig)
    cfg = cls(model.config, task="feature-extraction")
    assert cfg.inputs["pixel_values"] == {} and cfg.axis_bounds()["batch_size"] == (1, 1)
    dummy = cfg.generate_dummy_inputs("pt", batch_size=1, sequence_length=12)
    kwargs = cfg.to_model_kwargs(dict(dummy))
    assert kwargs["image_grid_thw"].tolist() == [[1, 4, 6]]
    assert kwargs["mm_token_type_ids"].sum() == 6


def test_generation_is_refused_naming_the_task() -> None:
    from transformers import AutoModelForImageTextToText

    model = qwen2_vl()
    generative = AutoModelForImageTextToText.from_config(model.config).eval()
    with pytest.raises(DeriveError, match="task: only feature-extraction.*register a class"):
        derive_onnx_config(generative, "text-generation-with-past")


def test_census_shrinks_mrope_and_the_vision_output_with_the_text_model(census: Any) -> None:
    """Shrunk defaults must still run: M-RoPE sections fill the tiny rotary half-dimension, and the
    vision tower's output width is the text model's."""
    from transformers import Qwen2_5_VLConfig

    config = census.shrunk_config(Qwen2_5_VLConfig, "feature-extraction", 128)
    text = config.text_config
    head = text.hidden_size // text.num_attention_heads
    assert sum(text.rope_parameters["mrope_section"]) == head // 2 and text.rope_parameters["rope_theta"] == 16.0
    assert config.vision_config.out_hidden_size == text.hidden_size
