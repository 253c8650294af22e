"""Level 2, text: encoders, decoders and encoder-decoders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from .base import OnnxConfigWithPast, OnnxConfig, OnnxSeq2SeqConfigWithPast
from .dummy import DummyTextInputGenerator
from .past import DummyDecoderInputGenerator
from .normalized import NormalizedConfig, NormalizedTextConfig
from .seq2seq import NormalizedSeq2SeqConfig, Seq2SeqDecoderOnnxConfig, Seq2SeqTextEncoderOnnxConfig
from .tasks import ENCODER_TASKS as ENCODER_TASKS  # re-export; the task sets live in tasks.py


class _TextLengthMixin:
    """Sequence-length limit from absolute position embeddings."""

    # Positions reserved before the first token (RoBERTa-style models start at padding_idx + 1).
    POSITION_OFFSET: ClassVar[int] = 0
    _normalized_config: NormalizedConfig  # set by OnnxConfig.__init__

    @property
    def max_sequence_length(self) -> int | None:
        """Longest sequence the model's position embeddings allow, if they bound it."""
        limit = self._normalized_config.get("max_position_embeddings")
        return int(limit) - self.POSITION_OFFSET if limit else None


class TextEncoderOnnxConfig(_TextLengthMixin, OnnxConfig):
    """Encoder-only text models (BERT and friends)."""

    NORMALIZED_CONFIG_CLASS = NormalizedTextConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator,)
    TEXT_INPUTS: ClassVar[tuple[str, ...]] = ("input_ids", "attention_mask", "token_type_ids")
    FUSABLE_ATTENTION = True

    @property
    def additive_mask_input(self) -> str | None:
        # Multiple-choice models flatten a 3-D mask themselves; leave those alone.
        if self.FUSABLE_ATTENTION and self.task != "multiple-choice":
            return "attention_mask"
        return None

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        if self.task == "multiple-choice":
            axes = {0: "batch_size", 1: "num_choices", 2: "sequence_length"}
        else:
            axes = {0: "batch_size", 1: "sequence_length"}
        return {name: dict(axes) for name in self.TEXT_INPUTS}

    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        bounds = super().axis_bounds()
        if self.max_sequence_length:
            bounds["sequence_length"] = (1, self.max_sequence_length)
        return bounds


class TextDecoderOnnxConfig(_TextLengthMixin, OnnxConfigWithPast):
    """Decoder-only text models; past key/values compose in through ``use_past``.

    With past, one exported model serves every generation step: the first step feeds an
    empty cache (past length 0), later steps the previous step's ``present.*``.
    """

    NORMALIZED_CONFIG_CLASS = NormalizedTextConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyDecoderInputGenerator,)
    USES_POSITION_IDS: ClassVar[bool] = True
    TRACE_PAST_LENGTH: ClassVar[int] = 8
    # Mixtures of experts: the experts implementation traced (see ``ExpertsDecoderOnnxConfig``).
    EXPERTS_IMPLEMENTATION: ClassVar[str | None] = None
    LARGE_VERIFY_SHAPES = {"batch_size": 5, "sequence_length": 64, "past_sequence_length": 64}

    def __init__(self, config: Any, task: str = "default", patching_specs: Any = None,
                 use_past: bool = False) -> None:
        super().__init__(config, task=task, patching_specs=patching_specs, use_past=use_past)
        self.use_past = use_past or self.task.endswith("-with-past")

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        mask_axis = self.TOTAL_SEQUENCE if self.use_past else "sequence_length"
        spec = {
            "input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: mask_axis},
        }
        if self.USES_POSITION_IDS:
            spec["position_ids"] = {0: "batch_size", 1: "sequence_length"}
        if self.use_past:
            spec.update(self.past_key_values_axes("past_key_values", self.PAST_SEQUENCE))
        return spec

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        spec = super().outputs
        if self.use_past:
            spec.update(self.past_key_values_axes("present", self.TOTAL_SEQUENCE))
        return spec

    # ---- shapes: the mask axis is past + new tokens, not a free size ----------------------
    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        bounds = super().axis_bounds()
        if self.use_past:
            limit = self.max_sequence_length
            bounds[self.PAST_SEQUENCE] = (0, limit - 1 if limit else None)
            bounds[self.TOTAL_SEQUENCE] = (1, limit)
        return bounds

    def default_axis_sizes(self) -> dict[str, int]:
        if not self.use_past:
            return {}
        return {self.PAST_SEQUENCE: self.TRACE_PAST_LENGTH,
                self.TOTAL_SEQUENCE: self.TRACE_PAST_LENGTH + 16}

    def verification_shapes(self, trace: Mapping[str, int]) -> list[tuple[str, dict[str, int]]]:
        shapes = super().verification_shapes(trace)
        if self.use_past:
            for _, shape in shapes:
                shape[self.TOTAL_SEQUENCE] = shape[self.PAST_SEQUENCE] + shape["sequence_length"]
        return shapes

    def generate_dummy_inputs(self, framework: str = "pt", **kwargs: Any) -> dict[str, Any]:
        kwargs.pop(self.TOTAL_SEQUENCE, None)   # follows from past and new lengths
        if kwargs.get(self.PAST_SEQUENCE) == 0:  # the first step: an empty cache (the default)
            kwargs.pop(self.PAST_SEQUENCE)
        return super().generate_dummy_inputs(framework, **kwargs)

    # ---- the model call: flat cache in, flat present out ---------------------------------
    def to_model_kwargs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        from .past import PAST_PREFIX, cache_from_flat

        past = [inputs.pop(name) for name in list(inputs) if name.startswith(PAST_PREFIX)]
        if self.use_past:
            inputs["past_key_values"] = cache_from_flat(self._config, past)
        inputs["use_cache"] = self.use_past
        return inputs

    def select_outputs(self, out: Any, names: Sequence[str]) -> tuple[Any, ...]:
        from .past import flat_from_cache

        head = [out[n] for n in names if not n.startswith("present.")]
        return (*head, *flat_from_cache(out.past_key_values)) if self.use_past else tuple(head)

    def export_settings(self) -> dict[str, Any]:
        """Eager attention while tracing (transformers' SDPA mask code does not export cleanly),
        and the experts implementation of a mixture of experts (``EXPERTS_IMPLEMENTATION``)."""
        experts = {"_experts_implementation": self.EXPERTS_IMPLEMENTATION} if self.EXPERTS_IMPLEMENTATION else {}
        return {**super().export_settings(), "_attn_implementation": "eager", **experts}


# "grouped_mm" (transformers' default) is a custom op with no ONNX function; "eager" loops over
# the experts a batch routes to (a data-dependent loop). "batched_mm" gathers each token's experts.
EXPORTABLE_EXPERTS = "batched_mm"


class ExpertsDecoderOnnxConfig(TextDecoderOnnxConfig):
    """A decoder whose feed-forward layers route each token to a few of several experts: traced
    with transformers' batched experts, which torch.export can trace (Mixtral, Qwen-MoE, and
    derived mixtures of experts)."""

    EXPERTS_IMPLEMENTATION: ClassVar[str | None] = EXPORTABLE_EXPERTS


class TextSeq2SeqOnnxConfig(_TextLengthMixin, OnnxSeq2SeqConfigWithPast):
    """Encoder-decoder text models.

    Generation tasks export ``encoder_model.onnx`` and ``decoder_model.onnx`` (with past:
    self- and cross-attention caches, see :mod:`shapeprof.onnx.seq2seq`); feature
    extraction exports one graph taking ``decoder_input_ids`` and returning the
    decoder's last hidden state.
    """

    NORMALIZED_CONFIG_CLASS = NormalizedSeq2SeqConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator,)
    GENERATION_TASKS = ("text2text-generation", "text2text-generation-with-past")
    LARGE_VERIFY_SHAPES = {"batch_size": 5, "encoder_sequence_length": 64, "decoder_sequence_length": 9}

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        if self.is_split:
            return self._part_io("inputs")
        return {"input_ids": {0: "batch_size", 1: "encoder_sequence_length"},
                "attention_mask": {0: "batch_size", 1: "encoder_sequence_length"},
                "decoder_input_ids": {0: "batch_size", 1: "decoder_sequence_length"}}

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        if self.is_split:
            return self._part_io("outputs")
        return {"last_hidden_state": {0: "batch_size", 1: "decoder_sequence_length"}}

    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        bounds = super().axis_bounds()
        for axis in ("encoder_sequence_length", "decoder_sequence_length"):
            bounds[axis] = (1, self.max_sequence_length)
        return bounds

    def default_axis_sizes(self) -> dict[str, int]:
        return {"encoder_sequence_length": 16, "decoder_sequence_length": 5}

    def get_encoder_onnx_config(self, config: Any) -> OnnxConfig:
        return Seq2SeqTextEncoderOnnxConfig(config, self.NORMALIZED_CONFIG_CLASS, self.max_sequence_length)

    def get_decoder_onnx_config(self, config: Any, task: str = "default", use_past: bool = False) -> OnnxConfig:
        return Seq2SeqDecoderOnnxConfig(config, task=task, use_past=use_past,
                                        normalized_class=self.NORMALIZED_CONFIG_CLASS,
                                        max_target_positions=self.max_sequence_length)
