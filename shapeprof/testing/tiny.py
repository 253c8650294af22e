"""Tiny randomly initialised models, built locally from transformers config classes.

Used by the architecture-matrix tests, the CI benchmark and the notebooks'
defaults: no download, a few hundred kB each, same graph structure as the
real architectures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from transformers import PretrainedConfig, PreTrainedModel

_COMMON = {"vocab_size": 128, "hidden_size": 32, "num_hidden_layers": 2,
           "num_attention_heads": 4, "intermediate_size": 37}

_ROBERTA = {"max_position_embeddings": 514, "pad_token_id": 1}
# Per model type: overrides of the common small sizes (and renamed attributes).
TEXT_ENCODERS: dict[str, dict[str, Any]] = {
    "bert": {"max_position_embeddings": 512},
    "albert": {"embedding_size": 16, "max_position_embeddings": 512},
    "electra": {"embedding_size": 16, "max_position_embeddings": 512},
    "roberta": {"max_position_embeddings": 514, "pad_token_id": 1},
    "xlm-roberta": {"max_position_embeddings": 514, "pad_token_id": 1},
    "mpnet": {"max_position_embeddings": 514, "pad_token_id": 1},
    "distilbert": {"dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 37,
                   "max_position_embeddings": 512},
    "deberta-v2": {"max_position_embeddings": 512, "type_vocab_size": 2,
                   "relative_attention": True, "position_buckets": 16, "pos_att_type": ["p2c", "c2p"]},
    "camembert": _ROBERTA,
    "data2vec-text": _ROBERTA,
    "xlm-roberta-xl": _ROBERTA,
    "ibert": _ROBERTA,
    "flaubert": {"max_position_embeddings": 512, "pad_index": 0},
    "xlm": {"max_position_embeddings": 512, "pad_index": 0},
    "ernie": {"max_position_embeddings": 512},
    "roformer": {"max_position_embeddings": 512},
    "convbert": {"max_position_embeddings": 512, "embedding_size": 32, "conv_kernel_size": 3},
    "mobilebert": {"max_position_embeddings": 512, "embedding_size": 16, "intra_bottleneck_size": 16,
                   "num_feedforward_networks": 1},
    "squeezebert": {"max_position_embeddings": 512, "embedding_size": 32, "intermediate_size": 64},
    # Block-sparse attention switches itself to full attention (for good) on sequences too short for
    # its blocks, such as the trace: an export is full attention, as this tiny model says.
    "big_bird": {"max_position_embeddings": 512, "attention_type": "original_full"},
    "esm": {"max_position_embeddings": 512, "pad_token_id": 1, "mask_token_id": 4,
            "position_embedding_type": "rotary"},
    "rembert": {"max_position_embeddings": 512, "input_embedding_size": 16, "output_embedding_size": 16},
    "megatron-bert": {"max_position_embeddings": 512},
    # Local attention (+-64) narrower than the verified 256 tokens, wide enough that no padded
    # query sees only padding (the dummy mask pads a quarter; such rows are arbitrary).
    "modernbert": {"max_position_embeddings": 512, "pad_token_id": 0, "sep_token_id": 3, "cls_token_id": 4,
                   "global_attn_every_n_layers": 2, "local_attention": 128},
    "deberta": {"max_position_embeddings": 512, "type_vocab_size": 2, "relative_attention": True,
                "pos_att_type": ["p2c", "c2p"], "max_relative_positions": 64},
}

# Decoder-only and encoder-decoder models. Greedy decoding must vary for generation parity to
# prove anything: with tied embeddings a tiny model's residual stream maps each token to itself,
# so the heads are untied; the init scales below are the ones whose greedy output varies
# (the generative matrix asserts it for every model).
_DECODER = {"max_position_embeddings": 256, "vocab_size": 128, "bos_token_id": 1, "eos_token_id": 2,
            "pad_token_id": 0, "tie_word_embeddings": False, "initializer_range": 0.1}
_GQA = {**_DECODER, "num_key_value_heads": 2}
GENERATIVE: dict[str, dict[str, Any]] = {
    "gpt2": {"n_embd": 32, "n_layer": 2, "n_head": 4, "n_positions": 256, "vocab_size": 128,
             "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0, "tie_word_embeddings": False},
    "gpt_neo": {**_DECODER, "num_layers": 2, "num_heads": 4, "attention_types": [[["global", "local"], 1]],
                "window_size": 16},
    "opt": {**_DECODER, "ffn_dim": 37, "word_embed_proj_dim": 32, "enable_bias": True},
    "llama": dict(_GQA),
    "qwen2": dict(_GQA),
    "qwen3": {**_GQA, "head_dim": 8},
    "phi3": {**_GQA, "original_max_position_embeddings": 256},
    "gemma": {**_GQA, "head_dim": 8, "initializer_range": 0.2},
    "gptj": {**_DECODER, "rotary_dim": 4},
    "codegen": {**_DECODER, "rotary_dim": 4, "n_ctx": 256},
    "gpt_neox": {**_DECODER, "rotary_pct": 0.5, "initializer_range": 0.05},
    "bloom": dict(_DECODER),                                   # ALiBi
    "falcon": {**_DECODER, "multi_query": True, "parallel_attn": True},
    "gpt_bigcode": {**_DECODER, "multi_query": True},
    "phi": {**_DECODER, "partial_rotary_factor": 0.5},
    "stablelm": {**_GQA, "partial_rotary_factor": 0.5},
    "olmo": dict(_GQA),
    "olmo2": dict(_GQA),
    "granite": dict(_GQA),
    "cohere": dict(_GQA),
    "xglm": {**_DECODER, "pad_token_id": 1, "ffn_dim": 37},
    "biogpt": dict(_DECODER),
    # Sliding windows shorter than the verified and generated lengths (24 to 128 tokens), longer
    # than the dummy mask's padding (16 of 64), so that no padded query sees only padding.
    "mistral": {**_GQA, "sliding_window": 20},
    "starcoder2": {**_GQA, "sliding_window": 20},
    "gemma2": {**_GQA, "head_dim": 8, "sliding_window": 20, "query_pre_attn_scalar": 8},
    "gemma3_text": {**_GQA, "head_dim": 8, "sliding_window": 20, "query_pre_attn_scalar": 8,
                    "layer_types": ["sliding_attention", "full_attention"]},
    # Mixtures of experts: four experts, two per token (grouped_mm wants 16-byte multiples).
    "mixtral": {**_GQA, "num_local_experts": 4, "num_experts_per_tok": 2, "intermediate_size": 32,
                "initializer_range": 0.2},
    "qwen2_moe": {**_GQA, "num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 16,
                  "shared_expert_intermediate_size": 16, "initializer_range": 0.2},
    "qwen3_moe": {**_GQA, "head_dim": 8, "num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 16},
}
_SEQ2SEQ = {"vocab_size": 128, "d_model": 32, "encoder_layers": 2, "decoder_layers": 2,
            "encoder_attention_heads": 4, "decoder_attention_heads": 4, "encoder_ffn_dim": 37,
            "decoder_ffn_dim": 37, "max_position_embeddings": 256, "pad_token_id": 1, "bos_token_id": 0,
            "eos_token_id": 2, "decoder_start_token_id": 2, "forced_eos_token_id": None, "tie_word_embeddings": False}
SEQ2SEQ: dict[str, dict[str, Any]] = {
    "t5": {"vocab_size": 128, "d_model": 32, "d_kv": 8, "d_ff": 37, "num_layers": 2, "num_decoder_layers": 2,
           "num_heads": 4, "relative_attention_num_buckets": 8, "pad_token_id": 0, "eos_token_id": 1,
           "decoder_start_token_id": 0, "feed_forward_proj": "gated-gelu"},
    "bart": dict(_SEQ2SEQ),
    "pegasus": dict(_SEQ2SEQ),
    "m2m_100": dict(_SEQ2SEQ),
    "blenderbot": dict(_SEQ2SEQ),
    "blenderbot-small": dict(_SEQ2SEQ),
    "plbart": dict(_SEQ2SEQ),
    "mbart": dict(_SEQ2SEQ),
    "marian": {**_SEQ2SEQ, "decoder_start_token_id": 1, "decoder_vocab_size": 128, "share_encoder_decoder_embeddings": True},
    "whisper": {**_SEQ2SEQ, "num_mel_bins": 8, "max_source_positions": 16, "max_target_positions": 64,
                "decoder_start_token_id": 3, "begin_suppress_tokens": None, "suppress_tokens": None},
}
SEQ2SEQ.update({"umt5": SEQ2SEQ["t5"], "mt5": SEQ2SEQ["t5"],
                "longt5": {**SEQ2SEQ["t5"], "local_radius": 4, "global_block_size": 4}})  # local attention
# For generation tasks only. transformers ties T5's head to its embeddings whatever the config
# says, so the last token's own embedding wins unless the layers weigh more: a larger init
# (gated GELU, as T5 v1.1, mT5 and UMT5). Its larger activations would exceed the default
# tolerance in the single-graph feature extraction at 64 tokens, hence not for every task.
# T5 itself: 2.0, which still varies and verifies with GPT-2's 50257-token vocabulary too (3.0
# gave encoder outputs 4e-4 off at 5 x 64 tokens there); UMT5 repeats one token below 3.0.
VARIED_GREEDY: dict[str, dict[str, Any]] = {t: {"initializer_factor": 3.0} for t in ("mt5", "umt5", "longt5")}
VARIED_GREEDY["t5"] = {"initializer_factor": 2.0}
GENERATION_TASKS = ("text-generation", "text-generation-with-past", "text2text-generation",
                    "text2text-generation-with-past")
# Attribute names the common sizes do not apply to.
_DROP_COMMON = {"gpt2": ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"),
                "gpt_neo": ("num_hidden_layers", "num_attention_heads", "intermediate_size"),
                "regnet": ("num_hidden_layers",)}  # RegNet's layer_types would have to match it

# Vision, audio and text-and-vision models (32x32 images, patch 8).
_VIT = {"image_size": 32, "patch_size": 8, "num_channels": 3}
_TOWER = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37}
_SPEECH = {"vocab_size": 32, "conv_dim": [16, 16, 16], "conv_kernel": [10, 3, 3], "conv_stride": [5, 2, 2],
           "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 2, "num_labels": 3}
OTHER_MODALITIES: dict[str, dict[str, Any]] = {
    "vit": _VIT,
    "deit": {**_VIT, "architectures": ["DeiTForImageClassification"]},  # AutoModel... picks by name
    "beit": {**_VIT, "use_relative_position_bias": True},
    "dinov2": {**_VIT, "layerscale_value": 1.0},
    "convnext": {"image_size": 32, "num_stages": 2, "hidden_sizes": [16, 32], "depths": [1, 1]},
    "resnet": {"image_size": 32, "embedding_size": 16, "hidden_sizes": [16, 32], "depths": [1, 1], "layer_type": "basic"},
    "swin": {"image_size": 32, "patch_size": 4, "embed_dim": 16, "depths": [1, 1], "num_attention_heads": [2, 2],
             "window_size": 2},
    "mobilevit": {"image_size": 32, "hidden_sizes": [16, 24, 32], "neck_hidden_sizes": [8, 8, 16, 16, 24, 32, 40],
                  "num_attention_heads": 2},
    "wav2vec2": _SPEECH,
    "hubert": _SPEECH,
    "wavlm": {**_SPEECH, "num_buckets": 32, "max_bucket_distance": 64},
    "clip": {"projection_dim": 16, "text_config": {**_TOWER, "vocab_size": 128, "max_position_embeddings": 64},
             "vision_config": {**_TOWER, **_VIT}},
    "siglip": {"text_config": {**_TOWER, "vocab_size": 128, "max_position_embeddings": 64},
               "vision_config": {**_TOWER, **_VIT}},
    "convnextv2": {"image_size": 32, "num_stages": 2, "hidden_sizes": [16, 32], "depths": [1, 1]},
    "swinv2": {"image_size": 32, "patch_size": 4, "embed_dim": 16, "depths": [1, 1], "num_attention_heads": [2, 2],
               "window_size": 2},
    "levit": {"architectures": ["LevitForImageClassification"], "image_size": 64, "hidden_sizes": [16, 24, 32],
              "num_attention_heads": [2, 2, 2], "depths": [1, 1, 1],
              "key_dim": [8, 8, 8]},
    "mobilenet_v2": {"image_size": 32, "depth_multiplier": 0.25},
    "efficientnet": {"image_size": 32, "width_coefficient": 0.25, "depth_coefficient": 0.25,
                     "hidden_dim": 320},  # the top convolution's width: round_filters(1280)
    "regnet": {"image_size": 32, "embedding_size": 16, "hidden_sizes": [16, 32], "depths": [1, 1], "groups_width": 8},
    "poolformer": {"image_size": 32, "num_encoder_blocks": 2, "depths": [1, 1], "hidden_sizes": [16, 32],
                   "patch_sizes": [7, 3], "strides": [4, 2], "padding": [2, 1]},
    "segformer": {"image_size": 32, "num_encoder_blocks": 2, "depths": [1, 1], "sr_ratios": [2, 1],
                  "hidden_sizes": [16, 32], "num_attention_heads": [1, 2], "patch_sizes": [7, 3], "strides": [4, 2],
                  "mlp_ratios": [2, 2], "decoder_hidden_size": 32},
    "yolos": {**_VIT, "image_size": [32, 32], "num_detection_tokens": 4},
    "data2vec-vision": {**_VIT, "use_relative_position_bias": True},
    "pvt": {"image_size": 32, "num_encoder_blocks": 2, "depths": [1, 1], "sequence_reduction_ratios": [2, 1],
            "hidden_sizes": [16, 32], "num_attention_heads": [1, 2], "patch_sizes": [4, 2], "strides": [4, 2],
            "mlp_ratios": [2, 2]},
    # CvT's stage i needs more than i layers.
    "cvt": {"image_size": 32, "embed_dim": [8, 16, 32], "num_heads": [1, 1, 2], "depth": [1, 2, 3]},
    "dinov2_with_registers": {**_VIT, "layerscale_value": 1.0, "num_register_tokens": 2},
    "mobilevitv2": {"image_size": 64, "width_multiplier": 0.25, "n_attn_blocks": [1, 1, 1]},
    "sew": {**_SPEECH, "squeeze_factor": 2},
    "sew-d": {**_SPEECH, "squeeze_factor": 2, "position_buckets": 16, "max_position_embeddings": 64},
    "unispeech": _SPEECH,
    "unispeech-sat": _SPEECH,
    "data2vec-audio": {**_SPEECH, "num_conv_pos_embeddings": 2, "conv_pos_kernel_size": 5},
    "wav2vec2-conformer": {**_SPEECH, "conv_depthwise_kernel_size": 3, "position_embeddings_type": "rotary"},
    "audio-spectrogram-transformer": {"patch_size": 8, "frequency_stride": 4, "time_stride": 4, "max_length": 32,
                                      "num_mel_bins": 16},
    "owlvit": {"projection_dim": 16, "text_config": {**_TOWER, "vocab_size": 128, "max_position_embeddings": 16},
               "vision_config": {**_TOWER, **_VIT}},
    "siglip2": {"text_config": {**_TOWER, "vocab_size": 128, "max_position_embeddings": 64},
                "vision_config": {**_TOWER, "patch_size": 4, "num_patches": 16}},
    "chinese_clip": {"projection_dim": 16, "text_config": {**_TOWER, "vocab_size": 128, "max_position_embeddings": 64},
                     "vision_config": {**_TOWER, **_VIT}},
    "groupvit": {"projection_dim": 16, "projection_intermediate_dim": 32,
                 "text_config": {**_TOWER, "vocab_size": 128, "max_position_embeddings": 64},
                 "vision_config": {**_TOWER, **_VIT, "depths": [1, 1], "num_hidden_layers": 2,
                                   "num_group_tokens": [4, 0], "num_output_groups": [4, 2]}},
    "markuplm": {"max_position_embeddings": 514, "pad_token_id": 1, "max_depth": 4, "xpath_unit_hidden_size": 8,
                 "max_xpath_tag_unit_embeddings": 16, "max_xpath_subs_unit_embeddings": 32},
    "layoutlm": {"max_position_embeddings": 512, "max_2d_position_embeddings": 1024},
    "layoutlmv3": {"max_position_embeddings": 514, "pad_token_id": 1, "max_2d_position_embeddings": 1024,
                   "coordinate_size": 6, "shape_size": 4, "input_size": 32, "patch_size": 8},
}

TINY_CONFIGS: dict[str, dict[str, Any]] = {**TEXT_ENCODERS, **GENERATIVE, **SEQ2SEQ, **OTHER_MODALITIES}


def tiny_config(model_type: str, **overrides: Any) -> PretrainedConfig:
    """A small config of ``model_type`` (2 layers, hidden size 32)."""
    from transformers import AutoConfig

    if model_type not in TINY_CONFIGS:
        raise ConfigError(f"no tiny config for {model_type!r}; known: {', '.join(sorted(TINY_CONFIGS))}")
    kwargs = {**_COMMON, **TINY_CONFIGS[model_type], **overrides}
    if model_type == "distilbert":
        for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"):
            kwargs.pop(key)
    if model_type in SEQ2SEQ:
        kwargs = {**SEQ2SEQ[model_type], **overrides}
    for key in _DROP_COMMON.get(model_type, ()):
        kwargs.pop(key, None)
    return AutoConfig.for_model(model_type, **kwargs)


def tiny_model(model_type: str, task: str = "feature-extraction", seed: int = 0,
               **overrides: Any) -> PreTrainedModel:
    """A randomly initialised tiny model of ``model_type`` with the head of ``task``."""
    import torch

    from ..onnx.tasks import auto_class, normalize_task

    task = normalize_task(task)
    if task in GENERATION_TASKS:
        overrides = {**VARIED_GREEDY.get(model_type, {}), **overrides}
    config = tiny_config(model_type, **overrides)
    torch.manual_seed(seed)
    return auto_class(task, model_type).from_config(config).eval()
