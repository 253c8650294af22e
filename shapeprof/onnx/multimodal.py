"""Level 2, multimodal: models that take text and images together."""

from __future__ import annotations

from .base import OnnxConfig
from .dummy import DummyTextInputGenerator, DummyVisionInputGenerator
from .normalized import NormalizedTextAndVisionConfig


class TextAndVisionOnnxConfig(OnnxConfig):
    """Text-and-image models (CLIP-style): a text batch and an image batch."""

    NORMALIZED_CONFIG_CLASS = NormalizedTextAndVisionConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator, DummyVisionInputGenerator)

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        return {
            "input_ids": {0: "text_batch_size", 1: "sequence_length"},
            "attention_mask": {0: "text_batch_size", 1: "sequence_length"},
            "pixel_values": {0: "image_batch_size"},
        }
