"""Raw-waveform models whose ``input_values`` carry a channel axis: (batch, channels, samples).

OmniASR's feature extractor returns ``input_values`` of shape (batch, 1, samples) and its first
convolution reads the channel axis; a (batch, samples) waveform would be taken as one unbatched
clip of ``batch`` channels. When the model fails on the 2-D layout and runs on the 3-D one (with
``config.audio_channels`` channels, else 1), :func:`with_channels` gives the derived class the
3-D layout: the channel axis static, batch and samples dynamic as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..audio import AUDIO_LENGTH, AudioOnnxConfig, DummyRawAudioInputGenerator
from ..base import OnnxConfig
from .probe import run


class ChannelWaveformGenerator(DummyRawAudioInputGenerator):
    """The waveform of :class:`DummyRawAudioInputGenerator` on every channel."""

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        wave = super().generate(input_name, axes)
        channels = int(self.normalized_config.get("audio_channels") or 1)
        return np.repeat(wave[:, None, :], channels, axis=1)


class ChannelAudioOnnxConfig(AudioOnnxConfig):
    """``input_values`` (batch, channels, samples); the channel axis unnamed: static."""

    DUMMY_INPUT_GENERATOR_CLASSES = (ChannelWaveformGenerator,)

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        return {"input_values": {0: "batch_size", 2: AUDIO_LENGTH}}


def with_channels(model: Any, draft: type[OnnxConfig], task: str) -> type[OnnxConfig]:
    """``draft`` (its convolutions read from ``audio_config`` when the config has them only there)
    when the model runs on (batch, samples); else its 3-D variant when the model runs on that;
    else ``draft`` (whose probe then reports the model's error)."""
    draft = _sub_config_convolutions(model.config, draft)
    sizes = {"batch_size": 2, AUDIO_LENGTH: max(400, 2 * draft(model.config, task=task).min_audio_length())}
    if _runs(model, draft, task, sizes):
        return draft
    channels = int(getattr(model.config, "audio_channels", None) or 1)
    normalized = _normalized(draft, {}, {"audio_channels": channels})
    variant = type(draft.__name__, (draft, ChannelAudioOnnxConfig), {
        "__module__": draft.__module__, "__qualname__": draft.__qualname__, "NORMALIZED_CONFIG_CLASS": normalized,
        "DUMMY_INPUT_GENERATOR_CLASSES": ChannelAudioOnnxConfig.DUMMY_INPUT_GENERATOR_CLASSES,
        "inputs": ChannelAudioOnnxConfig.inputs})   # own attributes: the derived class keeps them
    return variant if _runs(model, variant, task, sizes) else draft


def _sub_config_convolutions(config: Any, draft: type[OnnxConfig]) -> type[OnnxConfig]:
    """OmniASR keeps ``conv_kernel`` / ``conv_stride`` in ``audio_config``: the shortest clip follows them."""
    audio = getattr(config, "audio_config", None)
    names = ("conv_kernel", "conv_stride")
    if any(getattr(config, n, None) for n in names) or not all(getattr(audio, n, None) for n in names):
        return draft
    normalized = _normalized(draft, {n: f"audio_config.{n}" for n in names}, {})
    return type(draft.__name__, (draft,), {"__module__": draft.__module__, "__qualname__": draft.__qualname__,
                                           "NORMALIZED_CONFIG_CLASS": normalized})


def _normalized(draft: type[OnnxConfig], attributes: dict[str, str], defaults: dict[str, Any]) -> type:
    base = draft.NORMALIZED_CONFIG_CLASS
    return type(base.__name__, (base,), {"ATTRIBUTES": {**base.ATTRIBUTES, **attributes},
                                         "DEFAULTS": {**base.DEFAULTS, **defaults}, "__module__": __name__})


def _runs(model: Any, draft: type[OnnxConfig], task: str, sizes: Mapping[str, int]) -> bool:
    try:
        run(model, draft(model.config, task=task), sizes)
        return True
    except Exception:   # the other layout, or the model's own error (reported by the probe)
        return False
