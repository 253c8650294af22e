"""Level 2, text: encoders, decoders and encoder-decoders."""

from __future__ import annotations

from typing import ClassVar

from .base import OnnxConfigWithPast, OnnxConfig, OnnxSeq2SeqConfigWithPast
from .dummy import DummyTextInputGenerator
from .normalized import NormalizedTextConfig

ENCODER_TASKS = (
    "feature-extraction",
    "fill-mask",
    "text-classification",
    "token-classification",
    "question-answering",
    "multiple-choice",
)


class _TextLengthMixin:
    """Sequence-length limit from absolute position embeddings."""

    # Positions reserved before the first token (RoBERTa-style models start at padding_idx + 1).
    POSITION_OFFSET: ClassVar[int] = 0

    @property
    def max_sequence_length(self) -> int | None:
        """Longest sequence the model's position embeddings allow, if they bound it."""
        limit = self._normalized_config.get("max_position_embeddings")  # type: ignore[attr-defined]
        return int(limit) - self.POSITION_OFFSET if limit else None


class TextEncoderOnnxConfig(_TextLengthMixin, OnnxConfig):
    """Encoder-only text models (BERT and friends)."""

    NORMALIZED_CONFIG_CLASS = NormalizedTextConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator,)
    TEXT_INPUTS: ClassVar[tuple[str, ...]] = ("input_ids", "attention_mask", "token_type_ids")
    FUSABLE_ATTENTION = True

    @property
    def additive_mask_input(self) -> str | None:
        # Multiple-choice models flatten a 3-D mask themselves; leave those alone.
        if self.FUSABLE_ATTENTION and self.task != "multiple-choice":
            return "attention_mask"
        return None

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        if self.task == "multiple-choice":
            axes = {0: "batch_size", 1: "num_choices", 2: "sequence_length"}
        else:
            axes = {0: "batch_size", 1: "sequence_length"}
        return {name: dict(axes) for name in self.TEXT_INPUTS}

    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        bounds = super().axis_bounds()
        if self.max_sequence_length:
            bounds["sequence_length"] = (1, self.max_sequence_length)
        return bounds


class TextDecoderOnnxConfig(_TextLengthMixin, OnnxConfigWithPast):
    """Decoder-only text models; past key/values compose in through ``use_past``."""

    NORMALIZED_CONFIG_CLASS = NormalizedTextConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator,)

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        mask_axis = self.TOTAL_SEQUENCE if self.use_past else "sequence_length"
        spec = {
            "input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: mask_axis},
        }
        if self.use_past:
            spec.update(self.past_key_values_axes("past_key_values", self.PAST_SEQUENCE))
        return spec

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        spec = super().outputs
        if self.use_past:
            spec.update(self.past_key_values_axes("present", self.TOTAL_SEQUENCE))
        return spec


class TextSeq2SeqOnnxConfig(_TextLengthMixin, OnnxSeq2SeqConfigWithPast):
    """Encoder-decoder text models, exported as an encoder and a decoder."""

    NORMALIZED_CONFIG_CLASS = NormalizedTextConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator,)

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        return {
            "input_ids": {0: "batch_size", 1: "encoder_sequence_length"},
            "attention_mask": {0: "batch_size", 1: "encoder_sequence_length"},
            "decoder_input_ids": {0: "batch_size", 1: "decoder_sequence_length"},
        }
