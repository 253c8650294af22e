"""Derivation for speech-to-text encoder-decoders (Speech2Text, Moonshine, SpeechT5, Canary, ...).

Split as the registered Whisper: ``encoder_model.onnx`` (the audio encoder: spectrogram features
or a raw waveform in, hidden states out) and ``decoder_model.onnx`` (token ids, encoder hidden
states and the flat self- and cross-attention caches in; logits and the caches out), with
Whisper's names. The encoder input is probed as for encoders (feature size, layout, fewest
frames or samples); the decoder's cache (layers, heads, head size) from a real ``use_cache=True``
forward pass. The decoder attends to every encoder frame (no encoder mask input, as Whisper),
so the encoder is exported without a frame mask: transcribe one clip per batch, or clips of
one length.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..audio import AUDIO_LENGTH, AudioOnnxConfig, AudioToTextOnnxConfig
from ..base import OnnxConfig
from ..seq2seq import NormalizedSeq2SeqConfig
from .caches import seq2seq_cache
from .families import Audio, Family, make_class
from .probe import first_line, normalized_class, preprocessor_inputs, run, vocab_size
from .speech import Spectrogram

PROBE_SAMPLES = (400, 800, 1600, 3200, 6400, 12800)   # shortest waveforms tried, in order
ENCODER_TASK = "feature-extraction"


class RawAudioEncoderOnnxConfig(AudioOnnxConfig):
    """A waveform encoder whose shortest clip was probed (no conv_kernel/conv_stride in the config)."""

    MIN_SAMPLES: ClassVar[int] = 400

    def min_audio_length(self) -> int:
        return self.MIN_SAMPLES

    def default_axis_sizes(self) -> dict[str, int]:
        return {AUDIO_LENGTH: 2 * self.MIN_SAMPLES}


class SpectrogramEncoder(Spectrogram):
    """The encoder part taking ``input_features``; no frame mask (see the module docstring)."""

    MASK = False


class RawAudioEncoder(Audio):
    """The encoder part taking ``input_values``: the shortest waveform giving two or more frames."""

    BASE = RawAudioEncoderOnnxConfig

    @classmethod
    def derive(cls, model: Any, task: str) -> type[OnnxConfig]:
        draft = make_class(cls.BASE, model.config.model_type, ())
        draft.MIN_SAMPLES = cls.shortest(model, draft, task)
        return cls.finish_waveform(model, draft, task, 2 * draft.MIN_SAMPLES, min_samples=draft.MIN_SAMPLES)

    @classmethod
    def shortest(cls, model: Any, draft: type[OnnxConfig], task: str) -> int:
        cfg, error = draft(model.config, task=task), "no length tried"
        for samples in PROBE_SAMPLES:
            try:
                out = run(model, cfg, {"batch_size": 2, AUDIO_LENGTH: samples})["last_hidden_state"]
            except Exception as e:   # too short for the convolution stack
                error = first_line(e)
                continue
            if out.shape[1] >= 2:
                return samples
        raise cls.fail(model, task, f"encoder at {PROBE_SAMPLES[-1]} samples or fewer", error)


class SpeechToTextOnnxConfig(AudioToTextOnnxConfig):
    """Whisper's split with a derived encoder part (``ENCODER``) of any input and dynamic length."""

    ENCODER: ClassVar[type[OnnxConfig]] = OnnxConfig
    ENCODER_CONFIG: ClassVar[str] = ""   # the config attribute holding the encoder's own config, if any

    def get_encoder_onnx_config(self, config: Any) -> OnnxConfig:
        return self.ENCODER(getattr(config, self.ENCODER_CONFIG) if self.ENCODER_CONFIG else config,
                            task=ENCODER_TASK)

    def export_parts(self, model: Any) -> list[tuple[str, Any, OnnxConfig]]:
        """The decoder part is traced as decoder + head given an all-ones encoder mask: the
        model's own cross-attention mask covers the new encoder states only, not the cache."""
        parts = super().export_parts(model)
        if not self.is_split:
            return parts
        return [(name, _decoder_with_head(model) if part is model else part, cfg) for name, part, cfg in parts]


class SpeechSeq2Seq(Family):
    BASE = SpeechToTextOnnxConfig

    @classmethod
    def derive(cls, model: Any, task: str) -> type[OnnxConfig]:
        config = model.config
        if task not in SpeechToTextOnnxConfig.GENERATION_TASKS:
            raise cls.fail(model, task, "task", "a speech encoder-decoder is derived for "
                           "automatic-speech-recognition(-with-past) only")
        encoder, own = cls.encoder(model, task)
        cache, hidden = cls.cache(model, task, encoder(own, task=ENCODER_TASK))
        values = {"vocab_size": vocab_size(model), "decoder_num_layers": cache["layers"],
                  "num_attention_heads": cache["heads"], "hidden_size": hidden}
        if hidden % cache["heads"] or hidden // cache["heads"] != cache["head_dim"]:
            values["head_dim"] = cache["head_dim"]
        normalized = normalized_class(NormalizedSeq2SeqConfig, config, {k: v for k, v in values.items() if v},
                                      optional={"max_position_embeddings": None})
        draft = make_class(cls.BASE, config.model_type, (), NORMALIZED_CONFIG_CLASS=normalized, ENCODER=encoder,
                           ENCODER_CONFIG=_config_attribute(config, own), STATIC_AXES=encoder.STATIC_AXES)
        preprocessor, _ = preprocessor_inputs(config.model_type, "audio")
        return cls.finish(draft, task, {}, {}, preprocessor=preprocessor, cache=cache,
                          encoder=dict(encoder.DERIVATION), encoder_mask=False)

    @classmethod
    def encoder(cls, model: Any, task: str) -> tuple[type[OnnxConfig], Any]:
        """The encoder part's derived class, and the config it was derived on (the encoder's own)."""
        try:
            part = model.get_encoder()
        except Exception as e:   # no encoder module it can name
            raise cls.fail(model, task, "encoder", first_line(e)) from e
        if getattr(part, "config", None) is None:
            part.config = model.config
        if part.config is not model.config and not _config_attribute(model.config, part.config):
            raise cls.fail(model, task, "encoder", f"its config ({type(part.config).__name__}) is no attribute "
                           "of the model's config")
        family = SpectrogramEncoder if model.main_input_name == "input_features" else RawAudioEncoder
        return family.derive(part, ENCODER_TASK), part.config

    @classmethod
    def cache(cls, model: Any, task: str, cfg: OnnxConfig) -> tuple[dict[str, Any], int]:
        import torch

        inputs = cfg.generate_dummy_inputs("pt", **cfg.default_axis_sizes())
        ids = torch.randint(3, max(4, vocab_size(model) or 4), (inputs[next(iter(inputs))].shape[0], 3))
        try:
            with torch.no_grad():
                out = model(**inputs, decoder_input_ids=ids, use_cache=True, return_dict=True)
            return seq2seq_cache(out)
        except Exception as e:
            raise cls.fail(model, task, "forward pass with use_cache=True", first_line(e)) from e


def _config_attribute(config: Any, own: Any) -> str:
    """The attribute of ``config`` holding the sub-config ``own`` ("" when it is ``config``)."""
    if own is config:
        return ""
    return next((name for name, value in vars(config).items() if value is own), "")


def _decoder_with_head(model: Any) -> Any:
    """A module called like the full model by the decoder part's config (``decoder_input_ids``,
    ``encoder_outputs``, ``cache``, ``use_cache``): the model's decoder and output head, with an
    all-ones mask over the cached and new encoder states."""
    import torch
    from transformers.utils import ModelOutput

    class DecoderWithHead(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.decoder, self.head, self.config = model.get_decoder(), model.get_output_embeddings(), model.config

        def forward(self, decoder_input_ids: Any, encoder_outputs: Any, use_cache: bool = False,
                    cache: Any = None, return_dict: bool = True, **kwargs: Any) -> Any:
            states = encoder_outputs[0]
            cached = cache.cross_attention_cache.layers[0].keys.shape[-2] if cache is not None else 0
            mask = torch.ones(states.shape[0], cached + states.shape[1], dtype=torch.long)
            out = self.decoder(input_ids=decoder_input_ids, encoder_hidden_states=states, encoder_attention_mask=mask,
                               cache=cache, use_cache=use_cache, return_dict=True, **kwargs)
            return ModelOutput(logits=self.head(out.last_hidden_state), past_key_values=out.past_key_values)

    return DecoderWithHead().eval()
