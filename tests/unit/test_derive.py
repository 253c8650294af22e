"""derive_onnx_config: the level-2 class per family, inputs from the preprocessor, attribute names
mapped to the config, axes and caches probed, registration, and one-line failures."""

from __future__ import annotations

from typing import Any

import pytest

from shapeprof import TextDecoderOnnxConfig, TextEncoderOnnxConfig, TextSeq2SeqOnnxConfig, VisionOnnxConfig
from shapeprof.errors import ConfigError
from shapeprof.loading import config_origin, wrap_model
from shapeprof.onnx.builtin import default_registry
from shapeprof.onnx.derive import PROBED, DeriveError, derive_onnx_config, preprocessor_inputs
from shapeprof.onnx.registry import Registry
from shapeprof.testing.tiny import tiny_config, tiny_model

SMALL = {"vocab_size": 128, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
         "intermediate_size": 37}


def config(model_type: str, **overrides: Any) -> Any:
    from transformers import AutoConfig

    return AutoConfig.for_model(model_type, **{**SMALL, **overrides})


def test_text_encoder_takes_its_tokenizers_inputs_in_the_registered_order() -> None:
    cls = derive_onnx_config(config("ernie", max_position_embeddings=64), "fill-mask")
    assert issubclass(cls, TextEncoderOnnxConfig) and cls.__name__ == "DerivedErnieOnnxConfig"
    assert cls.MODEL_TYPE == "ernie" and cls.SUPPORTED_TASKS == ("fill-mask",)
    assert cls.TEXT_INPUTS == ("input_ids", "attention_mask", "token_type_ids")   # BertTokenizer's names
    assert cls.FUSABLE_ATTENTION and cls.DERIVATION["preprocessor"] == "BertTokenizer"
    onnx_cfg = cls(config("ernie", max_position_embeddings=64), task="fill-mask")
    assert onnx_cfg.outputs == {"logits": {0: "batch_size", 1: "sequence_length"}}
    assert cls.DERIVATION["static_output_dims"] == {"logits": {"2": 128}}    # the vocabulary: static
    assert onnx_cfg.axis_bounds()["sequence_length"] == (1, 64)


def test_dummy_inputs_are_valid_for_the_model() -> None:
    cfg = config("ernie", max_position_embeddings=64, type_vocab_size=3)
    onnx_cfg = derive_onnx_config(cfg, "feature-extraction")(cfg, task="feature-extraction")
    dummy = onnx_cfg.generate_dummy_inputs("np", batch_size=4, sequence_length=9)
    assert dummy["input_ids"].max() < 128 and dummy["token_type_ids"].max() < 3
    assert set(dummy["attention_mask"].ravel()) == {0, 1}                      # padding included


def test_models_without_token_types_or_fused_attention() -> None:
    cls = derive_onnx_config(config("roformer", max_position_embeddings=64, embedding_size=32),
                             "token-classification")
    assert cls.TEXT_INPUTS == ("input_ids", "attention_mask")      # RoFormerTokenizer gives no token types
    assert cls.FUSABLE_ATTENTION is False                          # its rotary attention is its own
    cfg = cls(config("roformer", max_position_embeddings=64, embedding_size=32), task="token-classification")
    assert cfg.additive_mask_input is None


def test_roberta_style_positions_reserve_the_padding_offset() -> None:
    cls = derive_onnx_config(tiny_config("roberta"), "feature-extraction")
    assert cls.POSITION_OFFSET == 2 and cls.TEXT_INPUTS == ("input_ids", "attention_mask")


def test_derived_llama_matches_the_registered_one_at_any_size() -> None:
    task = "text-generation-with-past"
    cls = derive_onnx_config(tiny_config("llama"), task)
    assert issubclass(cls, TextDecoderOnnxConfig) and cls.USES_POSITION_IDS
    assert cls.DERIVATION["cache"]["key_value_heads"] == 2
    mapped = cls.NORMALIZED_CONFIG_CLASS.ATTRIBUTES
    assert PROBED not in {mapped[k] for k in ("num_layers", "num_key_value_heads", "head_dim")}
    registered = default_registry().get("llama")
    bigger = tiny_config("llama", num_hidden_layers=3)             # names, not probed numbers
    assert cls(bigger, task=task).inputs == registered(bigger, task=task).inputs
    assert cls(bigger, task=task).outputs == registered(bigger, task=task).outputs


def test_sliding_window_layers_bound_the_total_length() -> None:
    cls = derive_onnx_config(tiny_config("mistral", sliding_window=16), "text-generation-with-past")
    assert cls.DERIVATION["cache"]["sliding_layers"] == [0, 1]
    bounds = cls(tiny_config("mistral", sliding_window=16), task="text-generation-with-past").axis_bounds()
    assert bounds["past_sequence_length + sequence_length"] == (1, 15)


def test_encoder_decoders_split_as_the_registered_ones() -> None:
    task = "text2text-generation-with-past"
    cls = derive_onnx_config(tiny_config("bart"), task)
    assert issubclass(cls, TextSeq2SeqOnnxConfig)
    derived, registered = cls(tiny_config("bart"), task=task), default_registry().get("bart")(tiny_config("bart"), task=task)
    assert derived.inputs == registered.inputs and derived.outputs == registered.outputs
    assert [p[0] for p in derived.export_parts(tiny_model("bart", task))] == ["encoder_model.onnx",
                                                                             "decoder_model.onnx"]


def test_fixed_size_images_make_static_axes() -> None:
    cls = derive_onnx_config(tiny_config("vit"), "image-classification")
    assert issubclass(cls, VisionOnnxConfig) and cls.STATIC_AXES == ("height", "width")
    assert cls(tiny_config("vit"), task="image-classification").axis_bounds()["height"] == (32, 32)


def test_preprocessor_names() -> None:
    assert preprocessor_inputs("bert") == ("BertTokenizer", ("input_ids", "token_type_ids", "attention_mask"))
    assert preprocessor_inputs("wav2vec2", "audio") == ("Wav2Vec2FeatureExtractor", ("input_values", "attention_mask"))
    assert preprocessor_inputs("vit", "image")[1] == ("pixel_values",)


def test_a_derived_class_can_be_registered() -> None:
    cls = derive_onnx_config(config("ernie", max_position_embeddings=64), "fill-mask")
    registry = Registry()
    registered = registry.register("ernie", "fill-mask")(cls)
    assert registry.get("ernie") is registered and issubclass(registered, cls)
    loaded = wrap_model(tiny_model("bert", "fill-mask"), "fill-mask", registry=Registry(), config=None)
    assert loaded.config_origin == "derived"          # bert is not in that empty registry


def test_config_choice() -> None:
    registry = default_registry()
    assert config_origin("bert", None, registry) == "registered"
    assert config_origin("bert", "auto", registry) == "derived"
    assert config_origin("no-such-type", None, registry) == "derived"
    with pytest.raises(ConfigError, match=r"is not registered \(.*\); to derive .*--config auto"):
        config_origin("no-such-type", "registered", registry)
    with pytest.raises(ConfigError, match="unknown config choice 'maybe'"):
        config_origin("bert", "maybe", registry)


def test_an_input_no_preprocessor_makes_fails_with_the_registration_hint() -> None:
    from transformers import BertModel

    class NeedsFeatures(BertModel):
        def forward(self, input_ids: Any, extra_features: Any, attention_mask: Any = None, **kwargs: Any) -> Any:
            return super().forward(input_ids=input_ids, attention_mask=attention_mask, **kwargs)

    with pytest.raises(DeriveError) as info:
        derive_onnx_config(NeedsFeatures(tiny_config("bert")), "feature-extraction")
    message = str(info.value)
    assert "\n" not in message and message.startswith("config error: cannot derive an ONNX config for 'bert'")
    assert "inputs: forward requires 'extra_features', which no preprocessor" in message
    assert "@shapeprof.register('bert', 'feature-extraction') on a subclass of TextEncoderOnnxConfig" in message


def test_a_model_that_cannot_be_built_fails_in_one_line() -> None:
    with pytest.raises(DeriveError, match=r"'bert' \(image-classification\): building the model: .*register"):
        derive_onnx_config(tiny_config("bert"), "image-classification")


def test_raw_audio_models() -> None:
    from shapeprof import AudioOnnxConfig

    cls = derive_onnx_config(tiny_config("hubert"), "feature-extraction")
    assert issubclass(cls, AudioOnnxConfig) and cls.DERIVATION["preprocessor"] == "Wav2Vec2FeatureExtractor"
    assert cls(tiny_config("hubert"), task="feature-extraction").outputs == {"last_hidden_state": {0: "batch_size"}}


def test_image_sides_dynamic_only_under_a_guard_are_static() -> None:
    """FocalNet pads odd stage sizes: torch.export keeps its sides dynamic only for multiples of
    its total stride, and torch.onnx would accept that silently (a wrong graph at 336x448)."""
    focal = config("focalnet", embed_dim=8, depths=[1], hidden_sizes=[8], focal_levels=[1], focal_windows=[3],
                   image_size=32, num_labels=2)
    cls = derive_onnx_config(focal, "image-classification")
    assert cls.STATIC_AXES == ("height", "width")
    because = cls.DERIVATION["static_because"]
    assert because.startswith("torch.export keeps the sides dynamic only where (") and "% 4) == 0" in because
    assert "size()" not in because   # torch's L['args'][0].size()[3] is named after its axis


def test_a_decoder_without_a_cache_falls_back_to_no_past() -> None:
    cfg = tiny_config("gpt2")
    from transformers import AutoConfig

    gpt = AutoConfig.for_model("openai-gpt", vocab_size=128, n_embd=32, n_layer=2, n_head=4, n_positions=64)
    cls = derive_onnx_config(gpt, "text-generation-with-past")
    assert cls.SUPPORTED_TASKS == ("text-generation",)
    assert cls.DERIVATION["fallback"].startswith("text-generation-with-past falls back to text-generation "
                                                 "(no past key/values): the model returns NoneType")
    loaded = wrap_model(build_model(gpt, "text-generation"), "text-generation-with-past", config="auto")
    assert loaded.task == "text-generation" and not loaded.onnx_config.use_past
    assert "fallback" not in derive_onnx_config(cfg, "text-generation-with-past").DERIVATION   # gpt2 has a cache


def test_mixture_of_experts_is_traced_with_batched_experts() -> None:
    moe = config("olmoe", num_experts=4, num_experts_per_tok=2, num_key_value_heads=2, intermediate_size=37)
    cls = derive_onnx_config(moe, "text-generation-with-past")
    assert cls.EXPERTS_IMPLEMENTATION == "batched_mm" and cls.DERIVATION["experts_implementation"] == "batched_mm"
    settings = cls(moe, task="text-generation-with-past").export_settings()
    assert settings == {"_attn_implementation": "eager", "_experts_implementation": "batched_mm"}
    assert derive_onnx_config(tiny_config("llama"), "text-generation").EXPERTS_IMPLEMENTATION is None


def build_model(cfg: Any, task: str) -> Any:
    from shapeprof.onnx.tasks import auto_class

    return auto_class(task, cfg.model_type).from_config(cfg).eval()


@pytest.mark.parametrize("model_type, modality", [("focalnet", "image"), ("wav2vec2-bert", "audio"), ("xmod", "text"),
                                                  ("blip", "text+image")])
def test_an_unregistered_model_directory_has_the_modality_derivation_would_give(
        tmp_path: Any, model_type: str, modality: str) -> None:
    from transformers import AutoConfig

    from shapeprof.modality import modality_of

    AutoConfig.for_model(model_type).save_pretrained(tmp_path)     # a config is all it reads
    assert modality_of(str(tmp_path)) == modality


def test_a_config_refusing_a_global_per_layer_read_counts_as_not_having_it() -> None:
    """Heterogeneous configs (gemma4) raise on ``config.head_dim``; the normalized config falls back."""
    from shapeprof.onnx.derive.probe import config_value
    from shapeprof.onnx.normalized import NormalizedTextConfig

    class PerLayer:
        hidden_size = 32

        @property
        def head_dim(self) -> int:
            raise RuntimeError("'head_dim' is a per-layer attribute and may vary across layers")

    normalized = NormalizedTextConfig(PerLayer())
    assert normalized.get("head_dim") is None and normalized.hidden_size == 32
    assert config_value(PerLayer(), "head_dim") is None


def test_latent_attention_caches_keep_their_past_per_layer() -> None:
    """DeepSeek-V3's keys (nope + rope parts) are wider than its values: the shapes are kept per
    layer and the dummy past follows them, key and value apart."""
    mla = config("deepseek_v3", num_key_value_heads=4, kv_lora_rank=16, q_lora_rank=16, qk_nope_head_dim=8,
                 qk_rope_head_dim=8, v_head_dim=8, n_routed_experts=4, moe_intermediate_size=16,
                 num_experts_per_tok=2, n_group=1, topk_group=1, first_k_dense_replace=1)
    cls = derive_onnx_config(mla, "text-generation-with-past")
    assert cls.SUPPORTED_TASKS == ("text-generation-with-past",) and "fallback" not in cls.DERIVATION
    shapes = cls.DERIVATION["cache"]["layer_shapes"]
    assert len(shapes) == 2 and all(key_size == 16 and value_size == 8 for _, key_size, _, value_size in shapes)
    dummy = cls(mla, task="text-generation-with-past").generate_dummy_inputs("np", batch_size=2, sequence_length=3,
                                                                             past_sequence_length=4)
    key, value = dummy["past_key_values.1.key"], dummy["past_key_values.1.value"]
    assert key.shape[2:] == (4, 16) and value.shape[2:] == (4, 8) and key.shape[0] == value.shape[0] == 2


def _gpt2_with(failing: str) -> Any:
    """GPT-2 whose cache fails as a model with a cache class of its own does: on ``use_cache=True``,
    on a past it did not build, or keeping state besides keys and values."""
    import torch
    from transformers import GPT2LMHeadModel

    class Own(GPT2LMHeadModel):
        def forward(self, input_ids: Any = None, attention_mask: Any = None, position_ids: Any = None,
                    past_key_values: Any = None, use_cache: Any = None, **kwargs: Any) -> Any:
            if failing == "use_cache" and use_cache:
                raise ValueError("needs a cache of its own")
            if failing == "past" and past_key_values is not None and past_key_values.get_seq_length() > 0:
                raise ValueError("needs a cache of its own")
            out = super().forward(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                                  past_key_values=past_key_values, use_cache=use_cache, **kwargs)
            if failing == "state" and use_cache:   # a convolution state beside the keys (ZAYA)
                for layer in out.past_key_values.layers:
                    layer.conv_states = {0: torch.zeros(2, 3)}
            return out

    return Own(tiny_config("gpt2")).eval()


@pytest.mark.parametrize("failing, reason", [
    ("use_cache", "its forward pass with use_cache=True fails (ValueError: needs a cache of its own)"),
    ("past", "its forward pass with past key/values fails (ValueError: needs a cache of its own)"),
    ("state", "layer 0 (DynamicLayer) also holds conv_states, which past key/values do not carry")])
def test_a_cache_the_flat_past_cannot_drive_falls_back_to_no_past(failing: str, reason: str) -> None:
    cls = derive_onnx_config(_gpt2_with(failing), "text-generation-with-past")
    assert cls.SUPPORTED_TASKS == ("text-generation",) and cls.DERIVATION["cache"] is None
    assert cls.DERIVATION["fallback"] == ("text-generation-with-past falls back to text-generation (no past "
                                          f"key/values): {reason}")


@pytest.mark.parametrize("model_type, sizes", [
    ("deepseek_v2", {"num_key_value_heads": 4, "kv_lora_rank": 16, "q_lora_rank": 16, "qk_nope_head_dim": 8,
                     "qk_rope_head_dim": 8, "v_head_dim": 8, "first_k_dense_replace": 2}),
    ("llama4_text", {"num_key_value_heads": 2, "head_dim": 8, "intermediate_size_mlp": 37, "num_local_experts": 4,
                     "num_experts_per_tok": 1, "interleave_moe_layer_step": 2})])
def test_complex_rotary_embeddings_are_traced_as_real_pairs(model_type: str, sizes: dict[str, Any]) -> None:
    """ONNX has no complex type: while exported, DeepSeek-V2's and Llama 4's complex rotations run on
    (cos, sin) pairs, with the same outputs; the originals come back afterwards."""
    import torch

    from shapeprof.onnx.derive.rotary import complex_rotary, real_rotary

    model = build_model(config(model_type, **sizes), "text-generation")
    rotary = type(model.model.rotary_emb)
    original = rotary.forward
    ids = torch.randint(3, 128, (2, 6), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model(input_ids=ids).logits
        with real_rotary(model):
            pairs = model.model.rotary_emb(expected, torch.arange(6)[None])
            got = model(input_ids=ids).logits
    assert not pairs.is_complex() and pairs.shape[-1] == 2 and rotary.forward is original
    assert torch.allclose(got, expected, atol=1e-5)
    assert complex_rotary(model) and not complex_rotary(build_model(tiny_config("llama"), "text-generation"))
    assert derive_onnx_config(model, "text-generation").DERIVATION["rotary"].startswith("complex, exported as real")
