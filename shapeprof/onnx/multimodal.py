"""Level 2, multimodal: models that take text and images (or page layout) together.

CLIP-style models take a text batch and an image batch of independent sizes
(``text_batch_size``, ``image_batch_size``) and return similarity logits between
every text and every image. Layout models (LayoutLM) take tokens plus one
bounding box per token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from .base import OnnxConfig
from .dummy import DEFAULT_DUMMY_SHAPES, DummyInputGenerator, DummyTextInputGenerator
from .normalized import NormalizedConfig, NormalizedTextAndVisionConfig, NormalizedTextConfig
from .tasks import CONTRASTIVE_TASKS as CONTRASTIVE_TASKS  # re-export; the task sets live in tasks.py
from .text import TextEncoderOnnxConfig
from .vision import IMAGE_AXES, DummyImageInputGenerator, ImageSides, image_size_of



class _SubConfig(NormalizedConfig):
    """Canonical names read from a sub-config (``text_config`` or ``vision_config``)."""

    PREFIX: ClassVar[str] = ""

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(NormalizedConfig(getattr(self.__dict__["config"], self.PREFIX)), name)


class _TextPart(_SubConfig):
    PREFIX = "text_config"


class _VisionPart(_SubConfig):
    PREFIX = "vision_config"


def _batches(shapes: Mapping[str, int]) -> dict[str, int]:
    """Text and image batch sizes default to the seed's ``batch_size`` (2) when not given."""
    batch = shapes.get("batch_size", DEFAULT_DUMMY_SHAPES["batch_size"])
    return {"text_batch_size": batch, "image_batch_size": batch, **shapes}


class _TextGenerator(DummyTextInputGenerator):
    """Token ids for the text tower: vocabulary from ``text_config``."""

    def __init__(self, task: str, normalized_config: NormalizedConfig, shapes: Mapping[str, int],
                 seed: int = 0) -> None:
        super().__init__(task, _TextPart(normalized_config.config), _batches(shapes), seed)


class _ImageGenerator(DummyImageInputGenerator):
    """Pixels for the vision tower: image size from ``vision_config``."""

    def __init__(self, task: str, normalized_config: NormalizedConfig, shapes: Mapping[str, int],
                 seed: int = 0) -> None:
        super().__init__(task, _VisionPart(normalized_config.config), _batches(shapes), seed + 1)


class TextAndVisionOnnxConfig(OnnxConfig):
    """Text-and-image models (CLIP-style): a text batch and an image batch.

    The image size is fixed by the vision tower's position embeddings, so height and
    width are static; the text length is bounded by the text tower's positions.
    """

    NORMALIZED_CONFIG_CLASS = NormalizedTextAndVisionConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (_TextGenerator, _ImageGenerator)
    STATIC_AXES = IMAGE_AXES
    TEXT_INPUTS: ClassVar[tuple[str, ...]] = ("input_ids", "attention_mask")
    ATOL_FOR_VALIDATION = 1e-4
    POSITION_OFFSET: ClassVar[int] = 0   # text positions reserved before the first token (RoBERTa's 2)

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        spec = {name: {0: "text_batch_size", 1: "sequence_length"} for name in self.TEXT_INPUTS}
        spec["pixel_values"] = {0: "image_batch_size", 2: "height", 3: "width"}
        return spec

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        return {
            "logits_per_image": {0: "image_batch_size", 1: "text_batch_size"},
            "logits_per_text": {0: "text_batch_size", 1: "image_batch_size"},
            "text_embeds": {0: "text_batch_size"},
            "image_embeds": {0: "image_batch_size"},
        }

    def image_size(self) -> tuple[int, int]:
        return image_size_of(_VisionPart(self._config))

    def default_axis_sizes(self) -> dict[str, int]:
        return {"text_batch_size": 2, "image_batch_size": 3, **dict(zip(IMAGE_AXES, self.image_size()))}

    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        bounds = super().axis_bounds()
        for axis, size in zip(IMAGE_AXES, self.image_size()):
            bounds[axis] = (size, size)
        limit = _TextPart(self._config).get("max_position_embeddings")
        if limit:
            bounds["sequence_length"] = (1, int(limit) - self.POSITION_OFFSET)
        return bounds

    def verification_shapes(self, trace: Mapping[str, int]) -> list[tuple[str, dict[str, int]]]:
        """Single text and image; the trace; ``large_shape``."""
        bounds = self.axis_bounds()
        small = {a: bounds[a][0] for a in trace}
        return [("smallest", small), ("trace", dict(trace)), ("large", self.large_shape(trace))]

    def large_shape(self, trace: Mapping[str, int]) -> dict[str, int]:
        """More texts than images, at the longest text."""
        return dict(trace, text_batch_size=5, image_batch_size=2,
                    sequence_length=self.axis_bounds()["sequence_length"][1] or 64)


class DummyBboxInputGenerator(DummyInputGenerator):
    """Valid boxes per token: 0 <= x0 <= x1 < limit and 0 <= y0 <= y1 < limit."""

    SUPPORTED_INPUT_NAMES = ("bbox",)

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        shape = (self.shapes[axes[0]], self.shapes[axes[1]])
        limit = int(self.normalized_config.get("max_2d_position_embeddings") or 1024)
        corners = self.rng.integers(0, limit, size=(*shape, 2, 2), dtype=np.int64)  # (.., x|y, 2)
        corners.sort(axis=-1)
        x0, x1 = corners[..., 0, 0], corners[..., 0, 1]
        y0, y1 = corners[..., 1, 0], corners[..., 1, 1]
        return np.stack([x0, y0, x1, y1], axis=-1)


class LayoutTextOnnxConfig(TextEncoderOnnxConfig):
    """Text-plus-layout encoders (LayoutLM): BERT's inputs plus one box per token."""

    NORMALIZED_CONFIG_CLASS = NormalizedTextConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator, DummyBboxInputGenerator)
    FUSABLE_ATTENTION = False

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        axes = {0: "batch_size", 1: "sequence_length"}
        spec = {"input_ids": dict(axes), "bbox": dict(axes)}
        spec.update({"attention_mask": dict(axes), "token_type_ids": dict(axes)})
        return spec


class LayoutTextAndImageOnnxConfig(ImageSides, LayoutTextOnnxConfig):
    """Text, layout and page-image encoders (LayoutLMv3): boxes plus a fixed-size page image.

    The page image is cut into patches with absolute positions, so its sides are static
    (config ``input_size``). Token-level heads slice the text part of the sequence back out.
    """

    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator, DummyBboxInputGenerator,
                                     DummyImageInputGenerator)
    STATIC_AXES = IMAGE_AXES
    TEXT_INPUTS = ("input_ids", "attention_mask")

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        axes = {0: "batch_size", 1: "sequence_length"}
        return {"input_ids": dict(axes), "attention_mask": dict(axes), "bbox": dict(axes),
                "pixel_values": {0: "batch_size", 2: "height", 3: "width"}}

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        # Text tokens, then image patches: a derived length, so only the batch axis is named.
        if self.task == "feature-extraction":
            return {"last_hidden_state": {0: "batch_size"}}
        if self.task == "question-answering":
            return {"start_logits": {0: "batch_size"}, "end_logits": {0: "batch_size"}}
        return super().outputs

