"""Decoder-only text architectures (causal language models), with or without past key/values."""

from __future__ import annotations

from ..registry import register
from ..normalized import NormalizedTextConfig
from ..text import TextDecoderOnnxConfig

DECODER_TASKS = ("feature-extraction", "text-classification", "text-generation", "text-generation-with-past")


@register("gpt2", *DECODER_TASKS)
class GPT2OnnxConfig(TextDecoderOnnxConfig):
    """GPT-2: multi-head attention, absolute positions, GPT-2 attribute names."""

    NORMALIZED_CONFIG_CLASS = NormalizedTextConfig.with_args(
        num_layers="n_layer", num_attention_heads="n_head", hidden_size="n_embd",
        max_position_embeddings="n_positions")


@register("gpt_neo", *DECODER_TASKS)
class GPTNeoOnnxConfig(TextDecoderOnnxConfig):
    """GPT-Neo: GPT-2 style with local attention layers."""

    NORMALIZED_CONFIG_CLASS = NormalizedTextConfig.with_args(num_layers="num_layers",
                                                              num_attention_heads="num_heads")


@register("opt", *DECODER_TASKS)
class OPTOnnxConfig(TextDecoderOnnxConfig):
    """OPT: learned positions derived from the mask (position ids given explicitly)."""


@register("llama", *DECODER_TASKS)
class LlamaOnnxConfig(TextDecoderOnnxConfig):
    """Llama: rotary positions, grouped-query attention."""


@register("mistral", *DECODER_TASKS)
class MistralOnnxConfig(TextDecoderOnnxConfig):
    """Mistral: Llama's inputs with grouped-query attention."""


@register("qwen2", *DECODER_TASKS)
class Qwen2OnnxConfig(TextDecoderOnnxConfig):
    """Qwen2: Llama's inputs, biased QKV projections."""


@register("qwen3", *DECODER_TASKS)
class Qwen3OnnxConfig(TextDecoderOnnxConfig):
    """Qwen3: Llama's inputs with QK normalisation."""


@register("phi3", *DECODER_TASKS)
class Phi3OnnxConfig(TextDecoderOnnxConfig):
    """Phi-3: fused QKV projection, rotary positions."""


@register("gemma", *DECODER_TASKS)
class GemmaOnnxConfig(TextDecoderOnnxConfig):
    """Gemma: explicit head_dim, scaled embeddings."""
