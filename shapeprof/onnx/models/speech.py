"""Raw-audio speech encoders: classification, CTC speech recognition, features."""

from __future__ import annotations

from ..registry import register
from ..audio import AUDIO_TASKS, AudioOnnxConfig


@register("wav2vec2", *AUDIO_TASKS)
class Wav2Vec2OnnxConfig(AudioOnnxConfig):
    """wav2vec 2.0: convolutional feature encoder plus a transformer."""


@register("hubert", *AUDIO_TASKS)
class HubertOnnxConfig(AudioOnnxConfig):
    """HuBERT: wav2vec 2.0's architecture, trained on clustered targets."""


@register("wavlm", *AUDIO_TASKS)
class WavLMOnnxConfig(AudioOnnxConfig):
    """WavLM: wav2vec 2.0 with gated relative position bias."""
