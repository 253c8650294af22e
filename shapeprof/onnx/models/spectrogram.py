"""Audio Spectrogram Transformer: a fixed-size log-mel spectrogram in, patches with absolute positions."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..audio import AudioOnnxConfig
from ..dummy import DummyInputGenerator
from ..normalized import NormalizedConfig

SPECTROGRAM = ("num_frames", "num_mel_bins")


class DummySpectrogramInputGenerator(DummyInputGenerator):
    """``input_values`` of shape (batch, frames, mel bins): normalised features, mean 0, std 1."""

    SUPPORTED_INPUT_NAMES = ("input_values",)

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        cfg = self.normalized_config
        shape = (self.shapes[axes[0]], int(cfg.num_frames), int(cfg.num_mel_bins))
        return self.rng.standard_normal(shape, dtype=np.float32)


class SpectrogramOnnxConfig(AudioOnnxConfig):
    """Frames and mel bins are fixed by the position embeddings: only the batch axis is dynamic."""

    NORMALIZED_CONFIG_CLASS = NormalizedConfig.with_args(num_frames="max_length", num_mel_bins="num_mel_bins",
                                                         num_layers="num_hidden_layers")
    DUMMY_INPUT_GENERATOR_CLASSES = (DummySpectrogramInputGenerator,)
    STATIC_AXES = SPECTROGRAM

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        return {"input_values": {0: "batch_size"}}

    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        return {"batch_size": (1, None)}

    def verification_shapes(self, trace: Mapping[str, int]) -> list[tuple[str, dict[str, int]]]:
        return [("smallest", {"batch_size": 1}), ("trace", dict(trace)), ("large", {"batch_size": 3})]
