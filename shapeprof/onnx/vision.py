"""Level 2, vision: models that take ``pixel_values``."""

from __future__ import annotations

from .base import OnnxConfig
from .dummy import DummyVisionInputGenerator
from .normalized import NormalizedVisionConfig


class VisionOnnxConfig(OnnxConfig):
    """Image models: dynamic batch; height and width dynamic where the model allows it."""

    NORMALIZED_CONFIG_CLASS = NormalizedVisionConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyVisionInputGenerator,)

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        return {"pixel_values": {0: "batch_size"}}
