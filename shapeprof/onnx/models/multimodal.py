"""Text-and-image and text-and-layout architectures."""

from __future__ import annotations

from ..registry import register
from ..multimodal import (CONTRASTIVE_TASKS, LayoutTextAndImageOnnxConfig, LayoutTextOnnxConfig,
                          TextAndVisionOnnxConfig)
from ..normalized import NormalizedTextConfig

LAYOUT_TASKS = ("feature-extraction", "fill-mask", "text-classification", "token-classification")


@register("clip", *CONTRASTIVE_TASKS)
class CLIPOnnxConfig(TextAndVisionOnnxConfig):
    """CLIP: text and image towers with a contrastive similarity head."""


@register("siglip", *CONTRASTIVE_TASKS)
class SiglipOnnxConfig(TextAndVisionOnnxConfig):
    """SigLIP: like CLIP, but trained on fixed-length text without an attention mask."""

    TEXT_INPUTS = ("input_ids",)


@register("layoutlm", *LAYOUT_TASKS)
class LayoutLMOnnxConfig(LayoutTextOnnxConfig):
    """LayoutLM: BERT plus 2-D position embeddings of each token's box."""


@register("layoutlmv3", "feature-extraction", "text-classification", "token-classification",
          "question-answering")
class LayoutLMv3OnnxConfig(LayoutTextAndImageOnnxConfig):
    """LayoutLMv3: RoBERTa-style text (positions after padding_idx), boxes and page-image patches."""

    NORMALIZED_CONFIG_CLASS = NormalizedTextConfig.with_args(image_size="input_size")
    POSITION_OFFSET = 2
