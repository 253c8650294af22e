"""Level 2, audio: models that take raw waveforms (``input_values``) or spectrogram features.

Raw-audio encoders (wav2vec2 and friends) run a strided convolution stack over
the waveform, so the shortest input is its receptive field: shorter clips give
no frames. The frame axis of the outputs is derived from the audio length, so
only the batch axis of an output carries a name.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from typing import Any

from .base import OnnxConfig, OnnxSeq2SeqConfigWithPast
from .dummy import DummyAudioInputGenerator, DummyInputGenerator
from .normalized import NormalizedConfig
from .tasks import AUDIO_TASKS as AUDIO_TASKS  # re-export; the task sets live in tasks.py
from .seq2seq import NormalizedSeq2SeqConfig, Seq2SeqDecoderOnnxConfig

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


# ---- speech to text: spectrogram encoder + text decoder (Whisper) ------------------------------
SPECTROGRAM_AXES = ("feature_size", "nb_max_frames")


class NormalizedSpeechSeq2SeqConfig(NormalizedSeq2SeqConfig):
    ATTRIBUTES = {**NormalizedSeq2SeqConfig.ATTRIBUTES, "feature_size": "num_mel_bins",
                  "max_source_positions": "max_source_positions",
                  "max_position_embeddings": "max_target_positions"}


class SpectrogramEncoderOnnxConfig(OnnxConfig):
    """The encoder half: log-mel features of a fixed number of frames in, hidden states out."""

    DUMMY_INPUT_GENERATOR_CLASSES = (DummyAudioInputGenerator,)
    STATIC_AXES = SPECTROGRAM_AXES
    FRAMES_PER_POSITION = 2     # two stride-1/stride-2 convolutions halve the frames

    def __init__(self, config: Any, normalized_class: type[NormalizedConfig]) -> None:
        self.NORMALIZED_CONFIG_CLASS = normalized_class
        super().__init__(config, task="feature-extraction")

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        return {"input_features": {0: "batch_size", 1: "feature_size", 2: "nb_max_frames"}}

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        return {"last_hidden_state": {0: "batch_size", 1: "encoder_sequence_length"}}

    def default_axis_sizes(self) -> dict[str, int]:
        cfg = self._normalized_config
        return {"feature_size": int(cfg.feature_size),
                "nb_max_frames": self.FRAMES_PER_POSITION * int(cfg.max_source_positions)}

    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        bounds = super().axis_bounds()
        bounds.update({axis: (n, n) for axis, n in self.default_axis_sizes().items()})
        return bounds


class SpeechToTextDecoderOnnxConfig(Seq2SeqDecoderOnnxConfig):
    """Whisper's decoder attends to every encoder frame: no encoder mask input."""

    HAS_ENCODER_MASK = False


class AudioToTextOnnxConfig(OnnxSeq2SeqConfigWithPast):
    """Speech recognition as sequence to sequence: spectrogram encoder, autoregressive text decoder."""

    NORMALIZED_CONFIG_CLASS = NormalizedSpeechSeq2SeqConfig
    GENERATION_TASKS = ("automatic-speech-recognition", "automatic-speech-recognition-with-past")
    STATIC_AXES = SPECTROGRAM_AXES      # the encoder's; see SpectrogramEncoderOnnxConfig

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        return self._part_io("inputs")

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        return self._part_io("outputs")

    def get_encoder_onnx_config(self, config: Any) -> OnnxConfig:
        return SpectrogramEncoderOnnxConfig(config, self.NORMALIZED_CONFIG_CLASS)

    def get_decoder_onnx_config(self, config: Any, task: str = "default", use_past: bool = False) -> OnnxConfig:
        limit = self._normalized_config.get("max_position_embeddings")
        return SpeechToTextDecoderOnnxConfig(config, task=task, use_past=use_past,
                                             normalized_class=self.NORMALIZED_CONFIG_CLASS,
                                             max_target_positions=int(limit) if limit else None)
