"""Level 2, vision: models that take ``pixel_values``.

Image axes are named ``height`` and ``width`` (Optimum's names). Architectures
whose position embeddings fix the image size list them in ``STATIC_AXES``: the
axes keep their names in the spec, their range is the config's image size, and
the exporter keeps them static. Convolutional and windowed models leave them
dynamic from ``MIN_IMAGE_SIZE`` up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from .base import OnnxConfig
from .dummy import DEFAULT_DUMMY_SHAPES, DummyInputGenerator
from .normalized import NormalizedConfig, NormalizedVisionConfig
from .tasks import VISION_TASKS as VISION_TASKS  # re-export; the task sets live in tasks.py

IMAGE_AXES = ("height", "width")


def image_size_of(normalized: NormalizedConfig) -> tuple[int, int]:
    """(height, width) from ``image_size`` (an int or a pair); 224 when the config has none."""
    size = normalized.get("image_size") or DEFAULT_DUMMY_SHAPES["image_height"]
    if isinstance(size, (list, tuple)):
        return int(size[0]), int(size[-1])
    return int(size), int(size)


class DummyImageInputGenerator(DummyInputGenerator):
    """``pixel_values`` (and ``pixel_mask``) with sides from, in order: the ``height``/``width``
    axis sizes, the seed's ``image_height``/``image_width`` when given, the config's image size."""

    SUPPORTED_INPUT_NAMES = ("pixel_values", "pixel_mask")

    def __init__(self, task: str, normalized_config: NormalizedConfig, shapes: Mapping[str, int],
                 seed: int = 0) -> None:
        super().__init__(task, normalized_config, shapes, seed)
        height, width = image_size_of(normalized_config)
        self.height = shapes.get("height", shapes.get("image_height", height))
        self.width = shapes.get("width", shapes.get("image_width", width))
        channels = normalized_config.get("num_channels") or DEFAULT_DUMMY_SHAPES["num_channels"]
        self.channels = shapes.get("num_channels", channels)

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        batch = self.shapes[axes.get(0, "batch_size")]
        if input_name == "pixel_mask":
            return np.ones((batch, self.height, self.width), dtype=np.int64)
        # Normalised pixels: roughly what an image processor gives (mean 0, std 1).
        shape = (batch, self.channels, self.height, self.width)
        return self.rng.standard_normal(shape, dtype=np.float32)


class ImageSides(OnnxConfig):
    """Height and width from the config's ``image_size``: static where listed in ``STATIC_AXES``,
    else dynamic from ``MIN_IMAGE_SIZE`` up. Mixed into every config that takes ``pixel_values``
    of one image size."""

    # Smallest side a dynamic-size model is verified at and allows (its total stride, or more).
    MIN_IMAGE_SIZE: ClassVar[int] = 32

    def image_size(self) -> tuple[int, int]:
        return image_size_of(self._normalized_config)

    def default_axis_sizes(self) -> dict[str, int]:
        return dict(zip(IMAGE_AXES, self.image_size()))

    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        bounds = super().axis_bounds()
        for axis, size in zip(IMAGE_AXES, self.image_size()):
            bounds[axis] = (size, size) if axis in self.STATIC_AXES else (self.MIN_IMAGE_SIZE, None)
        if "batch_size" in self.STATIC_AXES:   # a model that unrolls a loop over its images (Pixtral)
            bounds["batch_size"] = (1, 1)
        return bounds


class VisionOnnxConfig(ImageSides):
    """Image models: dynamic batch; height and width dynamic where the model allows it."""

    NORMALIZED_CONFIG_CLASS = NormalizedVisionConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyImageInputGenerator,)
    ATOL_FOR_VALIDATION = 1e-4
    # Verification sizes are rounded up to this multiple (patch or stride friendly).
    SIZE_MULTIPLE: ClassVar[int] = 16

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        return {"pixel_values": {0: "batch_size", 2: "height", 3: "width"}}

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        if self.task == "feature-extraction":
            return {"last_hidden_state": {0: "batch_size"}}
        return super().outputs

    def verification_shapes(self, trace: Mapping[str, int]) -> list[tuple[str, dict[str, int]]]:
        """Batch 1 at the smallest side; the trace; batch 3 at a larger, non-square image."""
        bounds = self.axis_bounds()
        small = {a: bounds.get(a, (1, None))[0] for a in trace}
        large = {a: 3 if a == "batch_size" else n for a, n in trace.items()}
        for axis, factor in zip(IMAGE_AXES, (1.5, 2.0)):
            if axis in trace and not self._is_static(bounds[axis]):
                large[axis] = _round_up(int(trace[axis] * factor), self.SIZE_MULTIPLE)
        return [("smallest", small), ("trace", dict(trace)), ("large", large)]

    @staticmethod
    def _is_static(bounds: tuple[int, int | None]) -> bool:
        return bounds[0] == bounds[1]


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple
