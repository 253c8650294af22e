"""Derivation of models taking one input beyond their preprocessor's (shapeprof.onnx.derive.side_inputs):
each family derived, exported and verified from a tiny model; the X-MOD adapter rewrite; the
refusal of a model sampling in forward without a noise input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shapeprof.onnx.derive import DeriveError, derive_onnx_config

SMALL = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 37}
TEXT = {**SMALL, "vocab_size": 128}
CASES = {
    "vit_mae": ({**SMALL, "image_size": 32, "patch_size": 8, "decoder_num_hidden_layers": 1,
                 "decoder_hidden_size": 32, "decoder_intermediate_size": 37}, ["pixel_values", "noise"]),
    "seggpt": ({**SMALL, "image_size": [32, 16], "patch_size": 8, "mlp_dim": 37, "merge_index": 0,
                "intermediate_hidden_state_indices": [0]},
               ["pixel_values", "prompt_pixel_values", "prompt_masks"]),
    "visual_bert": ({**TEXT, "visual_embedding_dim": 12},
                    ["input_ids", "attention_mask", "token_type_ids", "visual_embeds", "visual_attention_mask",
                     "visual_token_type_ids"]),
    "lxmert": ({**TEXT, "l_layers": 1, "x_layers": 1, "r_layers": 1, "visual_feat_dim": 12},
               ["input_ids", "attention_mask", "token_type_ids", "visual_feats", "visual_attention_mask",
                "visual_pos"]),
    "xmod": ({**TEXT, "languages": ["en_XX", "de_DE", "fr_XX"]},
             ["input_ids", "attention_mask", "lang_ids"]),
}


def build(model_type: str, **overrides: Any) -> Any:
    import torch
    from transformers import AutoConfig

    from shapeprof.onnx.tasks import auto_class

    config = AutoConfig.for_model(model_type, **{**CASES[model_type][0], **overrides})
    torch.manual_seed(0)
    return auto_class("feature-extraction", model_type).from_config(config).eval()


@pytest.mark.parametrize("model_type", list(CASES))
def test_side_inputs_are_derived_exported_and_verified(model_type: str, tmp_path: Path) -> None:
    from shapeprof.export import export

    model = build(model_type)
    derived = derive_onnx_config(model, "feature-extraction")
    assert list(derived(model.config, task="feature-extraction").inputs) == CASES[model_type][1]
    assert derived.DERIVATION["inputs"] == CASES[model_type][1]
    result = export(model, tmp_path / "onnx", task="feature-extraction")
    assert result.config == "derived" and result.verification.passed


def test_region_features_move_with_a_dynamic_region_axis() -> None:
    model = build("lxmert")
    cfg = derive_onnx_config(model, "feature-extraction")(model.config, task="feature-extraction")
    assert cfg.inputs["visual_feats"] == {0: "batch_size", 1: "num_regions"}
    assert cfg.outputs == {"language_output": {0: "batch_size", 1: "sequence_length"},
                           "vision_output": {0: "batch_size", 1: "num_regions"}, "pooled_output": {0: "batch_size"}}
    feeds = cfg.generate_dummy_inputs("np", batch_size=2, sequence_length=4, num_regions=3)
    boxes = feeds["visual_pos"]
    assert feeds["visual_feats"].shape == (2, 3, 12) and boxes.shape == (2, 3, 4)
    assert ((0 <= boxes) & (boxes <= 1)).all() and (boxes[..., 2:] >= boxes[..., :2]).all()


def test_language_adapters_as_a_masked_sum_give_the_model_outputs() -> None:
    """Every example keeps its own language's adapter: the same outputs as X-MOD's boolean indexing."""
    import torch

    from shapeprof.onnx.derive.side_inputs import masked_adapters

    model = build("xmod")
    ids, langs = torch.randint(3, 128, (3, 6)), torch.tensor([2, 0, 1])
    with torch.no_grad():
        expected = model(input_ids=ids, lang_ids=langs).last_hidden_state
        with masked_adapters(model):
            got = model(input_ids=ids, lang_ids=langs).last_hidden_state
        other = model(input_ids=ids, lang_ids=torch.tensor([0, 0, 0])).last_hidden_state
    assert torch.allclose(got, expected, atol=1e-6) and not torch.allclose(other, expected, atol=1e-4)
    assert "lang_adapter" not in vars(model.encoder.layer[0].output)   # restored


def test_hashed_character_ids_span_unicode_and_a_guarded_sequence_is_static() -> None:
    from transformers import AutoConfig

    config = AutoConfig.for_model("canine", **SMALL, num_hash_buckets=64, num_hash_functions=4,
                                  local_transformer_stride=16, max_position_embeddings=64)
    derived = derive_onnx_config(config, "feature-extraction")
    cfg = derived(config, task="feature-extraction")
    assert cfg._normalized_config.vocab_size == 0x110000
    assert derived.DERIVATION["static_because"].startswith("torch.export keeps the sequence dynamic only where")
    assert cfg.axis_bounds()["sequence_length"] == (2048, 2048)   # CanineTokenizer's model_max_length


def test_a_model_sampling_in_forward_without_a_noise_input_differs_between_passes() -> None:
    """What Vision derivation refuses ("two forward passes on the same pixels differ"): ViTMAE
    called without its noise."""
    from shapeprof.onnx.derive.stochastic import random_outputs
    from shapeprof.onnx.vision import VisionOnnxConfig

    model = build("vit_mae")
    cfg = VisionOnnxConfig(model.config, task="feature-extraction")
    assert random_outputs(model, cfg, {"batch_size": 2}) == ["last_hidden_state"]


def test_a_detector_over_object_queries_is_refused_in_one_line() -> None:
    from types import SimpleNamespace

    from transformers import AutoConfig

    from shapeprof.onnx.derive.side_inputs import family

    def forward(pixel_values: Any, pixel_mask: Any = None) -> None: ...

    detector = SimpleNamespace(config=AutoConfig.for_model("deimv2"), main_input_name="pixel_values", forward=forward)
    with pytest.raises(DeriveError, match="family: a detector over object queries .*register") as info:
        family(detector, "feature-extraction")
    assert "\n" not in str(info.value)
