"""Level 2, audio: models that take raw waveforms (``input_values``) or spectrogram features.

Raw-audio encoders (wav2vec2 and friends) run a strided convolution stack over
the waveform, so the shortest input is its receptive field: shorter clips give
no frames. The frame axis of the outputs is derived from the audio length, so
only the batch axis of an output carries a name.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .base import OnnxConfig
from .dummy import DummyInputGenerator
from .normalized import NormalizedConfig

AUDIO_TASKS = ("feature-extraction", "audio-classification", "automatic-speech-recognition")
AUDIO_LENGTH = "audio_sequence_length"


class NormalizedAudioConfig(NormalizedConfig):
    ATTRIBUTES = {"conv_kernel": "conv_kernel", "conv_stride": "conv_stride",
                  "num_layers": "num_hidden_layers", "sampling_rate": "sampling_rate"}
    DEFAULTS = {"conv_kernel": (), "conv_stride": (), "sampling_rate": 16000}


def frames_for(length: int, kernels: tuple[int, ...], strides: tuple[int, ...]) -> int:
    """Frames a strided convolution stack (no padding) makes from ``length`` samples."""
    for k, s in zip(kernels, strides):
        length = (length - k) // s + 1 if length >= k else 0
    return length


def receptive_field(kernels: tuple[int, ...], strides: tuple[int, ...], frames: int = 1) -> int:
    """Fewest samples that give ``frames`` frames."""
    length = frames
    for k, s in reversed(list(zip(kernels, strides))):
        length = (length - 1) * s + k
    return length


class DummyRawAudioInputGenerator(DummyInputGenerator):
    """A waveform batch: a seeded mix of tones plus noise, amplitude within [-1, 1]."""

    SUPPORTED_INPUT_NAMES = ("input_values",)

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        batch = self.shapes[axes.get(0, "batch_size")]
        length = self.shapes[axes.get(1, AUDIO_LENGTH)]
        t = np.arange(length, dtype=np.float32) / 16000.0
        freqs = self.rng.uniform(100.0, 2000.0, size=(batch, 1)).astype(np.float32)
        wave = 0.5 * np.sin(2 * np.pi * freqs * t) + 0.1 * self.rng.standard_normal((batch, length))
        return np.clip(wave, -1.0, 1.0).astype(np.float32)


class AudioOnnxConfig(OnnxConfig):
    """Raw-waveform encoders: dynamic batch and dynamic number of samples."""

    NORMALIZED_CONFIG_CLASS = NormalizedAudioConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyRawAudioInputGenerator,)
    ATOL_FOR_VALIDATION = 1e-4

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        return {"input_values": {0: "batch_size", 1: AUDIO_LENGTH}}

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        name = "last_hidden_state" if self.task == "feature-extraction" else "logits"
        return {name: {0: "batch_size"}}

    def _conv(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        cfg = self._normalized_config
        return tuple(cfg.conv_kernel), tuple(cfg.conv_stride)

    def min_audio_length(self) -> int:
        """Fewest samples giving two frames (one frame would be a size-1 axis torch.export freezes)."""
        return receptive_field(*self._conv(), frames=2)

    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        bounds = super().axis_bounds()
        bounds[AUDIO_LENGTH] = (self.min_audio_length(), None)
        return bounds

    def verification_shapes(self, trace: Mapping[str, int]) -> list[tuple[str, dict[str, int]]]:
        """Batch 1 at the shortest clip; the trace; batch 3 at twice the trace length."""
        small = {a: self.axis_bounds().get(a, (1, None))[0] for a in trace}
        large = {a: 3 if a == "batch_size" else 2 * n for a, n in trace.items()}
        return [("smallest", small), ("trace", dict(trace)), ("large", large)]
