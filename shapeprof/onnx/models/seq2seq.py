"""Encoder-decoder architectures: text to text, and speech to text."""

from __future__ import annotations

from ..registry import register
from ..audio import AudioToTextOnnxConfig
from ..seq2seq import NormalizedSeq2SeqConfig
from ..text import TextSeq2SeqOnnxConfig

TEXT2TEXT_TASKS = ("feature-extraction", "text2text-generation", "text2text-generation-with-past")


@register("t5", *TEXT2TEXT_TASKS)
class T5OnnxConfig(TextSeq2SeqOnnxConfig):
    """T5: relative position buckets (no length limit), explicit head size ``d_kv``."""

    NORMALIZED_CONFIG_CLASS = NormalizedSeq2SeqConfig.with_args(
        num_attention_heads="num_heads", decoder_num_layers="num_decoder_layers", head_dim="d_kv")


@register("bart", *TEXT2TEXT_TASKS)
class BartOnnxConfig(TextSeq2SeqOnnxConfig):
    """BART: learned positions offset by two, decoder starts from EOS."""


@register("mbart", *TEXT2TEXT_TASKS)
class MBartOnnxConfig(TextSeq2SeqOnnxConfig):
    """mBART: BART with pre-layer norm and language-id tokens."""


@register("marian", *TEXT2TEXT_TASKS)
class MarianOnnxConfig(TextSeq2SeqOnnxConfig):
    """Marian: sinusoidal positions, decoder starts from the pad token."""


@register("whisper", "automatic-speech-recognition", "automatic-speech-recognition-with-past")
class WhisperOnnxConfig(AudioToTextOnnxConfig):
    """Whisper: 80/128 mel bins over a fixed 30 s window (static), text decoder with past."""
