"""Derivation of video models: ``pixel_values`` of (batch, frames, channels, height, width).

A model whose main input is ``pixel_values`` and whose config counts ``num_frames`` (VideoMAE,
ViViT, TimeSformer) is a video model: frames and image sides are static at the config's sizes
(position embeddings are sized for them), the batch is probed as dynamic.
"""

from __future__ import annotations

from typing import Any

from ..base import OnnxConfig
from ..video import NormalizedVideoConfig, VideoOnnxConfig
from .families import Vision
from .probe import config_value


def is_video(model: Any) -> bool:
    """Whether the model takes a clip of ``config.num_frames`` frames as ``pixel_values``."""
    frames = config_value(model.config, "num_frames")
    return (getattr(model, "main_input_name", None) == "pixel_values" and isinstance(frames, int)
            and not isinstance(frames, bool) and frames > 0)


class Video(Vision):
    BASE = VideoOnnxConfig

    @classmethod
    def derive(cls, model: Any, task: str) -> type[OnnxConfig]:
        config = model.config
        preprocessor, _, draft = cls.pixel_draft(model, task, NormalizedVideoConfig,
                                                 {"image_size": None, "num_channels": None, "num_frames": None})
        axes, fixed = cls.probe(model, draft, task, {"batch_size": 2}, {"batch_size": 3})
        sizes = draft(config, task=task).default_axis_sizes()
        return cls.finish(draft, task, axes, fixed, preprocessor=preprocessor, inputs=["pixel_values"],
                          static_axes=list(draft.STATIC_AXES), static_sizes=sizes)
