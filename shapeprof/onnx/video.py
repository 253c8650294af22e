"""Level 2, video: models that take ``pixel_values`` of shape (batch, frames, channels, height, width).

VideoMAE, ViViT and TimeSformer embed a fixed number of frames at a fixed image size (their
position embeddings are sized for it), so ``num_frames``, ``height`` and ``width`` are static
axes at the config's sizes; only the batch is dynamic.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .dummy import DEFAULT_DUMMY_SHAPES, DummyInputGenerator
from .normalized import NormalizedConfig, NormalizedVisionConfig
from .vision import IMAGE_AXES, VisionOnnxConfig, image_size_of

VIDEO_AXES = ("num_frames", *IMAGE_AXES)
DEFAULT_FRAMES = 16


class NormalizedVideoConfig(NormalizedVisionConfig):
    ATTRIBUTES = {**NormalizedVisionConfig.ATTRIBUTES, "num_frames": "num_frames"}
    DEFAULTS = {**NormalizedVisionConfig.DEFAULTS, "num_frames": DEFAULT_FRAMES}


def video_size_of(normalized: NormalizedConfig) -> tuple[int, int, int]:
    """(frames, height, width) from the config."""
    return (int(normalized.get("num_frames") or DEFAULT_FRAMES), *image_size_of(normalized))


class DummyVideoInputGenerator(DummyInputGenerator):
    """``pixel_values`` (batch, frames, channels, height, width): sizes from the axis sizes given,
    else the config's."""

    SUPPORTED_INPUT_NAMES = ("pixel_values",)

    def __init__(self, task: str, normalized_config: NormalizedConfig, shapes: Mapping[str, int],
                 seed: int = 0) -> None:
        super().__init__(task, normalized_config, shapes, seed)
        natural = dict(zip(VIDEO_AXES, video_size_of(normalized_config)))
        self.sizes = {axis: shapes.get(axis, size) for axis, size in natural.items()}
        self.channels = shapes.get("num_channels", normalized_config.get("num_channels")
                                   or DEFAULT_DUMMY_SHAPES["num_channels"])

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        batch = self.shapes[axes.get(0, "batch_size")]
        frames, height, width = (self.sizes[a] for a in VIDEO_AXES)
        # Normalised pixels, as an image processor gives them (mean 0, std 1).
        return self.rng.standard_normal((batch, frames, self.channels, height, width), dtype=np.float32)


class VideoOnnxConfig(VisionOnnxConfig):
    """Video models: dynamic batch; frames, height and width fixed by the config."""

    NORMALIZED_CONFIG_CLASS = NormalizedVideoConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyVideoInputGenerator,)
    STATIC_AXES = VIDEO_AXES

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        return {"pixel_values": {0: "batch_size", 1: "num_frames", 3: "height", 4: "width"}}

    def video_size(self) -> tuple[int, int, int]:
        return video_size_of(self._normalized_config)

    def default_axis_sizes(self) -> dict[str, int]:
        return dict(zip(VIDEO_AXES, self.video_size()))

    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        bounds = super().axis_bounds()
        for axis, size in zip(VIDEO_AXES, self.video_size()):
            bounds[axis] = (size, size) if axis in self.STATIC_AXES else (1, None)
        return bounds
