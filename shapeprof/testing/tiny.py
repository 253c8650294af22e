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
}

# Decoder-only and encoder-decoder models.
_DECODER = {"max_position_embeddings": 256, "vocab_size": 128, "bos_token_id": 1, "eos_token_id": 2,
            "pad_token_id": 0, "tie_word_embeddings": False}
_GQA = {**_DECODER, "num_key_value_heads": 2}
GENERATIVE: dict[str, dict[str, Any]] = {
    "gpt2": {"n_embd": 32, "n_layer": 2, "n_head": 4, "n_positions": 256, "vocab_size": 128,
             "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0},
    "gpt_neo": {**_DECODER, "num_layers": 2, "num_heads": 4, "attention_types": [[["global", "local"], 1]],
                "window_size": 16},
    "opt": {**_DECODER, "ffn_dim": 37, "word_embed_proj_dim": 32, "enable_bias": True},
    "llama": dict(_GQA),
    "mistral": {**_GQA, "sliding_window": None},
    "qwen2": dict(_GQA),
    "qwen3": {**_GQA, "head_dim": 8},
    "phi3": {**_GQA, "original_max_position_embeddings": 256},
    "gemma": {**_GQA, "head_dim": 8},
}
_SEQ2SEQ = {"vocab_size": 128, "d_model": 32, "encoder_layers": 2, "decoder_layers": 2,
            "encoder_attention_heads": 4, "decoder_attention_heads": 4, "encoder_ffn_dim": 37,
            "decoder_ffn_dim": 37, "max_position_embeddings": 256, "pad_token_id": 1, "bos_token_id": 0,
            "eos_token_id": 2, "decoder_start_token_id": 2, "forced_eos_token_id": None}
SEQ2SEQ: dict[str, dict[str, Any]] = {
    "t5": {"vocab_size": 128, "d_model": 32, "d_kv": 8, "d_ff": 37, "num_layers": 2, "num_decoder_layers": 2,
           "num_heads": 4, "relative_attention_num_buckets": 8, "pad_token_id": 0, "eos_token_id": 1,
           "decoder_start_token_id": 0},
    "bart": dict(_SEQ2SEQ),
    "mbart": dict(_SEQ2SEQ),
    "marian": {**_SEQ2SEQ, "decoder_start_token_id": 1, "decoder_vocab_size": 128, "share_encoder_decoder_embeddings": True},
    "whisper": {**_SEQ2SEQ, "num_mel_bins": 8, "max_source_positions": 16, "max_target_positions": 64,
                "decoder_start_token_id": 3, "begin_suppress_tokens": None, "suppress_tokens": None},
}
# Attribute names the common sizes do not apply to.
_DROP_COMMON = {"gpt2": ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"),
                "gpt_neo": ("num_hidden_layers", "num_attention_heads", "intermediate_size")}

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

    config = tiny_config(model_type, **overrides)
    torch.manual_seed(seed)
    return auto_class(normalize_task(task), model_type).from_config(config).eval()
