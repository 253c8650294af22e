"""Encoder-decoder models, exported as ``encoder_model.onnx`` and ``decoder_model.onnx``.

The encoder runs once per request. The decoder runs once per generated token and,
with past, takes and returns both caches:

- self-attention ``past_key_values.{i}.decoder.key/value`` (batch, heads, past, head dim),
  growing by the new tokens each step, as in decoder-only models;
- cross-attention ``past_key_values.{i}.encoder.key/value``: the projected encoder states.

One decoder graph serves every step without a branch. The cross-attention keys are
the cached ones followed by projections of the ``encoder_hidden_states`` given. The
first step gives an empty cross cache and the whole encoder output; later steps give
the returned cross cache and an encoder output of length 0, so the projections are
computed once per request. ``encoder_attention_mask`` always covers the full encoder
length (cached + given).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from .base import OnnxConfig
from .dummy import DummyInputGenerator, DummyTextInputGenerator, padded_mask
from .normalized import NormalizedConfig


DECODER_LENGTH = "decoder_sequence_length"
DECODER_PAST = "past_decoder_sequence_length"
DECODER_TOTAL = "past_decoder_sequence_length + decoder_sequence_length"
ENCODER_LENGTH = "encoder_sequence_length"
ENCODER_PAST = "encoder_past_sequence_length"   # 0 on the first step, ENCODER_LENGTH after
ENCODER_NEW = "encoder_sequence_length - encoder_past_sequence_length"

PAST_PREFIX = "past_key_values."
PRESENT_PREFIX = "present."
CACHE_KINDS = (("decoder", "key"), ("decoder", "value"), ("encoder", "key"), ("encoder", "value"))


class NormalizedSeq2SeqConfig(NormalizedConfig):
    """BART-style attribute names; T5 and others rename through ``with_args``."""

    ATTRIBUTES = {
        "vocab_size": "vocab_size",
        "hidden_size": "d_model",
        "num_attention_heads": "decoder_attention_heads",
        "decoder_num_layers": "decoder_layers",
        "max_position_embeddings": "max_position_embeddings",
        "head_dim": "head_dim",
    }
    DEFAULTS = {"max_position_embeddings": None, "head_dim": None}


def cache_heads(normalized: Any) -> tuple[int, int]:
    """(heads, head dim) of the decoder's attention caches."""
    heads = int(normalized.num_attention_heads)
    head_dim = normalized.get("head_dim") or int(normalized.hidden_size) // heads
    return heads, int(head_dim)


def cache_names(prefix: str, layers: int) -> list[str]:
    """``{prefix}.{i}.decoder.key`` ... ``{prefix}.{i}.encoder.value`` in layer order."""
    return [f"{prefix}{i}.{part}.{kind}" for i in range(layers) for part, kind in CACHE_KINDS]


class DummySeq2SeqDecoderInputGenerator(DummyInputGenerator):
    """Decoder ids, encoder states and mask, and both caches."""

    SUPPORTED_INPUT_NAMES = ("input_ids", "encoder_hidden_states", "encoder_attention_mask")

    def supports(self, input_name: str) -> bool:
        return input_name in self.SUPPORTED_INPUT_NAMES or input_name.startswith(PAST_PREFIX)

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        s, cfg = self.shapes, self.normalized_config
        batch, total = s["batch_size"], s[ENCODER_LENGTH]
        cross_past = s.get(ENCODER_PAST, 0)
        if input_name == "input_ids":
            return self.rng.integers(3, cfg.vocab_size, size=(batch, s[DECODER_LENGTH]), dtype=np.int64)
        if input_name == "encoder_hidden_states":
            new = total - cross_past
            return self.rng.standard_normal((batch, new, int(cfg.hidden_size)), dtype=np.float32)
        if input_name == "encoder_attention_mask":
            return padded_mask((batch, total))
        heads, head_dim = cache_heads(cfg)
        length = s.get(DECODER_PAST, 0) if ".decoder." in input_name else cross_past
        return self.rng.standard_normal((batch, heads, length, head_dim), dtype=np.float32)


class Seq2SeqDecoderOnnxConfig(OnnxConfig):
    """The decoder half: one step (or, without past, the whole decoder sequence) at a time."""

    DUMMY_INPUT_GENERATOR_CLASSES = (DummySeq2SeqDecoderInputGenerator,)
    HAS_ENCODER_MASK: ClassVar[bool] = True
    TRACE_SIZES: ClassVar[dict[str, int]] = {DECODER_LENGTH: 3, DECODER_PAST: 5, ENCODER_LENGTH: 10,
                                             ENCODER_PAST: 4}

    def __init__(self, config: Any, task: str = "default", patching_specs: Any = None,
                 use_past: bool = False, normalized_class: type[NormalizedConfig] | None = None,
                 max_target_positions: int | None = None) -> None:
        if normalized_class is not None:
            self.NORMALIZED_CONFIG_CLASS = normalized_class
        super().__init__(config, task=task, patching_specs=patching_specs)
        self.use_past = use_past
        self.max_target_positions = max_target_positions

    @property
    def num_layers(self) -> int:
        return int(self._normalized_config.decoder_num_layers)

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        spec = {"input_ids": {0: "batch_size", 1: DECODER_LENGTH},
                "encoder_hidden_states": {0: "batch_size", 1: ENCODER_NEW if self.use_past else ENCODER_LENGTH}}
        if self.HAS_ENCODER_MASK:
            spec["encoder_attention_mask"] = {0: "batch_size", 1: ENCODER_LENGTH}
        if self.use_past:
            for name in cache_names(PAST_PREFIX, self.num_layers):
                spec[name] = {0: "batch_size", 2: DECODER_PAST if ".decoder." in name else ENCODER_PAST}
        return spec

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        spec = {"logits": {0: "batch_size", 1: DECODER_LENGTH}}
        if self.use_past:
            for name in cache_names(PRESENT_PREFIX, self.num_layers):
                spec[name] = {0: "batch_size", 2: DECODER_TOTAL if ".decoder." in name else ENCODER_LENGTH}
        return spec

    # ---- shapes -------------------------------------------------------------------------
    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        bounds = super().axis_bounds()
        limit = self.max_target_positions
        bounds[DECODER_LENGTH] = (1, limit)
        if self.use_past:
            bounds[DECODER_PAST] = (0, limit - 1 if limit else None)
            bounds[ENCODER_PAST] = (0, None)
            bounds[ENCODER_NEW] = (0, None)
        return bounds

    def default_axis_sizes(self) -> dict[str, int]:
        sizes = dict(self.TRACE_SIZES)
        if not self.use_past:
            return {a: n for a, n in sizes.items() if a not in (DECODER_PAST, ENCODER_PAST)}
        sizes[ENCODER_NEW] = sizes[ENCODER_LENGTH] - sizes[ENCODER_PAST]
        return sizes

    def verification_shapes(self, trace: Mapping[str, int]) -> list[tuple[str, dict[str, int]]]:
        """Without past: a short and a long sequence. With past: the first and a later step."""
        if not self.use_past:
            return [("smallest", {**trace, "batch_size": 1, DECODER_LENGTH: 1, ENCODER_LENGTH: 1}),
                    ("trace", dict(trace)),
                    ("large", {**trace, "batch_size": 3, DECODER_LENGTH: 9, ENCODER_LENGTH: 17})]
        first = {"batch_size": 1, DECODER_LENGTH: 1, DECODER_PAST: 0, ENCODER_LENGTH: 7, ENCODER_PAST: 0}
        later = {"batch_size": 3, DECODER_LENGTH: 1, DECODER_PAST: 6, ENCODER_LENGTH: 12, ENCODER_PAST: 12}
        shapes = [("first step", first), ("trace", dict(trace)), ("later step", later)]
        for _, shape in shapes:
            if ENCODER_LENGTH not in shape:   # the trace of a graph without an encoder mask
                shape[ENCODER_LENGTH] = shape[ENCODER_NEW] + shape[ENCODER_PAST]
            shape[ENCODER_NEW] = shape[ENCODER_LENGTH] - shape[ENCODER_PAST]
        return shapes

    def generate_dummy_inputs(self, framework: str = "pt", **kwargs: Any) -> dict[str, Any]:
        new = kwargs.pop(ENCODER_NEW, None)  # follows from the encoder length and the cross cache
        if new is not None and ENCODER_LENGTH not in kwargs:  # no mask input names the length
            kwargs[ENCODER_LENGTH] = new + kwargs.get(ENCODER_PAST, 0)
        for axis in (DECODER_PAST, ENCODER_PAST):
            if kwargs.get(axis) == 0:
                kwargs.pop(axis)            # 0 is the default: an empty cache
        return super().generate_dummy_inputs(framework, **kwargs)

    def _extra_shape_names(self) -> set[str]:
        return {DECODER_LENGTH, DECODER_PAST, ENCODER_LENGTH, ENCODER_PAST}

    # ---- the model call ----------------------------------------------------------------------
    def to_model_kwargs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        past = [inputs.pop(n) for n in list(inputs) if n.startswith(PAST_PREFIX)]
        states = inputs.pop("encoder_hidden_states")
        kwargs = {"decoder_input_ids": inputs.pop("input_ids"), "encoder_outputs": encoder_output(states),
                  "use_cache": self.use_past}
        if "encoder_attention_mask" in inputs:
            kwargs["attention_mask"] = inputs.pop("encoder_attention_mask")
        if self.use_past:
            kwargs["cache"] = encoder_decoder_cache(past, cross_complete=_is_empty(states))
        return kwargs

    def select_outputs(self, out: Any, names: Sequence[str]) -> tuple[Any, ...]:
        if not self.use_past:
            return (out["logits"],)
        return (out["logits"], *flat_from_encoder_decoder_cache(out.past_key_values))

    def export_settings(self) -> dict[str, Any]:
        """Eager attention while tracing: transformers' SDPA mask code does not export cleanly."""
        return {**super().export_settings(), "_attn_implementation": "eager"}


def encoder_output(states: Any) -> Any:
    """The encoder's output as the decoder step reads it: a model output, not a tuple (ProphetNet and
    NLLB-MoE read ``.last_hidden_state``, NLLB-MoE ``.router_logits``); any other field is None."""
    return _encoder_states_class()(last_hidden_state=states)


@functools.cache
def _encoder_states_class() -> type:
    from transformers.modeling_outputs import BaseModelOutput

    class EncoderStates(BaseModelOutput):
        def __getattr__(self, name: str) -> Any:
            if name.startswith("_"):
                raise AttributeError(name)
            return None

    return EncoderStates


def _is_empty(states: Any) -> bool:
    """A concrete zero-length encoder output (eager runs only; traced lengths are symbolic)."""
    length = states.shape[1]
    return isinstance(length, int) and length == 0


def encoder_decoder_cache(flat: Sequence[Any], cross_complete: bool = False) -> Any:
    """An ``EncoderDecoderCache`` from flat tensors in ``CACHE_KINDS`` order per layer.

    The cross-attention layers are marked not yet updated, so the model appends projections
    of the given encoder states to them (see the module docstring), unless ``cross_complete``:
    then, as in transformers' own later steps, it reuses them as they are.
    """
    from transformers import DynamicCache, EncoderDecoderCache

    cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
    for layer in range(len(flat) // 4):
        k, v, ck, cv = flat[4 * layer:4 * layer + 4]
        cache.self_attention_cache.update(k, v, layer)
        cache.cross_attention_cache.update(ck, cv, layer)
        cache.is_updated[layer] = cross_complete
    return cache


def flat_from_encoder_decoder_cache(cache: Any) -> list[Any]:
    flat = []
    for own, cross in zip(cache.self_attention_cache.layers, cache.cross_attention_cache.layers):
        flat += [own.keys, own.values, cross.keys, cross.values]
    return flat


class Seq2SeqTextEncoderOnnxConfig(OnnxConfig):
    """The encoder half of a text model: token ids and mask in, hidden states out."""

    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator,)

    def __init__(self, config: Any, normalized_class: type[NormalizedConfig],
                 max_length: int | None = None) -> None:
        self.NORMALIZED_CONFIG_CLASS = normalized_class
        super().__init__(config, task="feature-extraction")
        self.max_length = max_length

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        return {name: {0: "batch_size", 1: ENCODER_LENGTH} for name in ("input_ids", "attention_mask")}

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        return {"last_hidden_state": {0: "batch_size", 1: ENCODER_LENGTH}}

    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        return {**super().axis_bounds(), ENCODER_LENGTH: (1, self.max_length)}

    def default_axis_sizes(self) -> dict[str, int]:
        return {ENCODER_LENGTH: 16}

    LARGE_VERIFY_SHAPES = {"batch_size": 5, ENCODER_LENGTH: 64}
