"""Level 1 of the config hierarchy: modality-agnostic base classes.

A config says WHAT a model takes and returns (``inputs``/``outputs`` as
``{name: {axis: symbolic_name}}``) and how to make dummy inputs for tracing.
Which shapes real data has is the profile's business, not the config's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from ..errors import ConfigError
from .tasks import normalize_task
from .dummy import DEFAULT_DUMMY_SHAPES, DummyInputGenerator, to_framework
from .normalized import NormalizedConfig
from ..layout import DECODER_FILE, ENCODER_FILE, ONNX_FILE

if TYPE_CHECKING:
    from transformers import PretrainedConfig

AxisSpec = Mapping[int, str]
IOSpec = Mapping[str, AxisSpec]


@dataclass
class PatchingSpec:
    """Replace ``o.name`` by ``custom_op`` while the model is exported.

    ``op_wrapper``, when given, is called with the original attribute and its
    result is installed instead of ``custom_op``. The original is always restored.
    """

    o: Any
    name: str
    custom_op: Callable[..., Any] | None = None
    orig_op: Callable[..., Any] | None = None
    op_wrapper: Callable[..., Any] | None = None


# Outputs shared by every architecture, per task.
COMMON_OUTPUTS: dict[str, dict[str, dict[int, str]]] = {
    "feature-extraction": {"last_hidden_state": {0: "batch_size", 1: "sequence_length"}},
    "fill-mask": {"logits": {0: "batch_size", 1: "sequence_length"}},
    "text-classification": {"logits": {0: "batch_size"}},
    "token-classification": {"logits": {0: "batch_size", 1: "sequence_length"}},
    "question-answering": {
        "start_logits": {0: "batch_size", 1: "sequence_length"},
        "end_logits": {0: "batch_size", 1: "sequence_length"},
    },
    "multiple-choice": {"logits": {0: "batch_size", 1: "num_choices"}},
    "text-generation": {"logits": {0: "batch_size", 1: "sequence_length"}},
    "text-generation-with-past": {"logits": {0: "batch_size", 1: "sequence_length"}},
    "image-classification": {"logits": {0: "batch_size"}},
    "audio-classification": {"logits": {0: "batch_size"}},
    "automatic-speech-recognition": {"logits": {0: "batch_size", 1: "sequence_length"}},
}


class OnnxConfig:
    """Base class: what an architecture takes and returns for one task."""

    NORMALIZED_CONFIG_CLASS: ClassVar[type[NormalizedConfig]] = NormalizedConfig
    DUMMY_INPUT_GENERATOR_CLASSES: ClassVar[tuple[type[DummyInputGenerator], ...]] = ()
    DEFAULT_ONNX_OPSET: ClassVar[int] = 20  # 20: ONNX Gelu, which onnxruntime fuses to BiasGelu
    ATOL_FOR_VALIDATION: ClassVar[float] = 1e-4
    RTOL_FOR_VALIDATION: ClassVar[float] = 1e-3
    # From the architecture's registry row (see shapeprof.onnx.registry); a class used outside
    # a registry accepts every task it declares outputs for. Parts of a split export take
    # their whole model's type, so MODEL_TYPE is also an instance attribute.
    MODEL_TYPE: str = ""
    SUPPORTED_TASKS: ClassVar[tuple[str, ...]] = ()
    # Export attention in the form onnxruntime fuses (see shapeprof.graph_form); only for
    # architectures whose attention goes through transformers' AttentionInterface.
    FUSABLE_ATTENTION: ClassVar[bool] = False
    # Axis names the architecture fixes to a size from its config; axis_bounds gives them
    # (size, size) and the exporter keeps them static. ``shapeprof list`` shows them.
    STATIC_AXES: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        config: PretrainedConfig,
        task: str = "default",
        patching_specs: list[PatchingSpec] | None = None,
    ) -> None:
        self.task = normalize_task(task)
        if self.SUPPORTED_TASKS and self.task not in self.SUPPORTED_TASKS:
            raise ConfigError(
                f"task {self.task!r} is not supported by {type(self).__name__}; "
                f"supported tasks: {', '.join(self.SUPPORTED_TASKS)}"
            )
        self._config = config
        self._normalized_config = self.NORMALIZED_CONFIG_CLASS(config)
        self.patching_specs = list(patching_specs or [])

    # ---- what the model takes and returns -------------------------------------------
    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        """Mapping of each input name to ``{axis_index: symbolic_name}``."""
        raise NotImplementedError(f"{type(self).__name__} must define inputs")

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        """Mapping of each output name to ``{axis_index: symbolic_name}``."""
        try:
            spec = COMMON_OUTPUTS[self.task]
        except KeyError:
            raise ConfigError(f"{type(self).__name__} declares no outputs for task {self.task!r}") from None
        return {name: dict(axes) for name, axes in spec.items()}

    def axis_names(self) -> list[str]:
        """Every dynamic input axis name, in order of first appearance."""
        return list(dict.fromkeys(a for spec in self.inputs.values() for a in spec.values()))

    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        """Inclusive ``(min, max)`` per dynamic axis name; ``None`` means unbounded."""
        return {name: (1, None) for name in self.axis_names()}

    def default_axis_sizes(self) -> dict[str, int]:
        """Trace sizes for axes whose natural size comes from the model config (e.g. image sides)."""
        return {}

    # Larger-than-trace sizes the exporter verifies at (clipped to axis_bounds).
    LARGE_VERIFY_SHAPES: ClassVar[dict[str, int]] = {"batch_size": 7, "sequence_length": 256}

    def verification_shapes(self, trace: Mapping[str, int]) -> list[tuple[str, dict[str, int]]]:
        """Shapes the export is verified at: smallest allowed, the trace shape, a larger one.

        Modalities override this when their axes need other sizes (e.g. image sides).
        """
        bounds = self.axis_bounds()
        small = {a: bounds.get(a, (1, None))[0] for a in trace}
        large = {a: self.LARGE_VERIFY_SHAPES.get(a, 3) for a in trace}
        large = {a: min(v, bounds[a][1]) if bounds.get(a, (1, None))[1] else v for a, v in large.items()}
        return [("smallest", small), ("trace", dict(trace)), ("large", large)]

    # ---- dummy inputs ---------------------------------------------------------------
    def generate_dummy_inputs(self, framework: str = "pt", **kwargs: Any) -> dict[str, Any]:
        """Dummy inputs for tracing, keyed by input name.

        Keyword arguments are axis sizes (``batch_size=2``, ``sequence_length=16``,
        ``num_choices=4``, ``image_width=224``, ``image_height=224``, ``num_channels=3``,
        ``feature_size=80``, ``nb_max_frames=3000``, ``audio_sequence_length=16000``)
        plus ``seed`` (default 0).
        """
        seed = int(kwargs.pop("seed", 0))
        unknown = set(kwargs) - set(DEFAULT_DUMMY_SHAPES) - self._extra_shape_names()
        if unknown:
            raise ConfigError(f"unknown dummy shape argument(s): {', '.join(sorted(unknown))}")
        bad = {k: v for k, v in kwargs.items() if not isinstance(v, int) or v < 1}
        if bad:
            raise ConfigError(f"dummy shapes must be positive integers, got {bad}")
        generators = [g(self.task, self._normalized_config, kwargs, seed) for g in self.DUMMY_INPUT_GENERATOR_CLASSES]
        arrays = {name: self._generate(generators, name, axes) for name, axes in self.inputs.items()}
        return to_framework(arrays, framework)

    def _extra_shape_names(self) -> set[str]:
        """Axis names beyond the seed's defaults that this config accepts as kwargs."""
        return {a for a in self.axis_names() if a.isidentifier()}

    @staticmethod
    def _generate(generators: list[DummyInputGenerator], name: str, axes: AxisSpec) -> Any:
        for generator in generators:
            if generator.supports(name):
                return generator.generate(name, axes)
        raise ConfigError(f"no dummy input generator handles input {name!r}")

    # ---- export-time patching ---------------------------------------------------------
    def to_model_kwargs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Exported inputs (by name) -> the model's keyword arguments; decoders build caches here."""
        return inputs

    def select_outputs(self, out: Any, names: Sequence[str]) -> tuple[Any, ...]:
        """The model's output -> the exported outputs, in order; decoders flatten caches here."""
        return tuple(out[name] for name in names)

    def export_parts(self, model: Any) -> list[tuple[str, Any, OnnxConfig]]:
        """(ONNX file, module to trace, its config) per exported graph: one, except encoder-decoders."""
        return [(ONNX_FILE, model, self)]

    @property
    def additive_mask_input(self) -> str | None:
        """Input the exporter turns into an additive 4-D mask before the model sees it."""
        return None

    def export_settings(self) -> dict[str, Any]:
        """Config attributes set on the model (and every sub-config) while it is traced, e.g.
        ``{"_attn_implementation": "eager"}``; restored afterwards."""
        return {}

    @contextlib.contextmanager
    def patch_model_for_export(self, model: Any) -> Iterator[Any]:
        """Apply ``patching_specs`` and ``export_settings()`` for the duration of the export, then
        restore them."""
        with contextlib.ExitStack() as stack:
            for spec in self.patching_specs:
                stack.enter_context(_patched(spec))
            if model is not None:
                from ..export.graph_form import attention_for_export, config_setting

                if self.FUSABLE_ATTENTION and self.additive_mask_input:
                    stack.enter_context(attention_for_export(model))
                for attribute, value in self.export_settings().items():
                    stack.enter_context(config_setting(model, attribute, value))
            yield model


@contextlib.contextmanager
def _patched(spec: PatchingSpec) -> Iterator[None]:
    original = getattr(spec.o, spec.name)
    replacement = spec.op_wrapper(original) if spec.op_wrapper else spec.custom_op
    setattr(spec.o, spec.name, replacement)
    try:
        yield
    finally:
        setattr(spec.o, spec.name, spec.orig_op if spec.orig_op is not None else original)


class OnnxConfigWithPast(OnnxConfig):
    """Base class for decoders that can take and return past key/values."""

    PAST_SEQUENCE = "past_sequence_length"
    TOTAL_SEQUENCE = "past_sequence_length + sequence_length"

    def __init__(
        self,
        config: PretrainedConfig,
        task: str = "default",
        patching_specs: list[PatchingSpec] | None = None,
        use_past: bool = False,
    ) -> None:
        super().__init__(config, task=task, patching_specs=patching_specs)
        self.use_past = use_past

    @classmethod
    def with_past(cls, config: PretrainedConfig, task: str = "default") -> OnnxConfigWithPast:
        """An instance of this config with ``use_past=True``."""
        return cls(config, task=task, use_past=True)

    def past_key_values_axes(self, prefix: str, length_axis: str) -> dict[str, dict[int, str]]:
        """``{prefix}.{i}.key`` / ``.value`` axes for every layer."""
        axes = {0: "batch_size", 2: length_axis}
        layers = int(self._normalized_config.num_layers)
        return {f"{prefix}.{i}.{kind}": dict(axes) for i in range(layers) for kind in ("key", "value")}


class OnnxSeq2SeqConfigWithPast(OnnxConfigWithPast):
    """Base class for encoder-decoder models exported as an encoder and a decoder.

    Tasks in ``GENERATION_TASKS`` export ``encoder_model.onnx`` and ``decoder_model.onnx``;
    other tasks export one graph. This level only composes the two parts: level-2 classes
    supply them by overriding ``get_encoder_onnx_config`` and ``get_decoder_onnx_config``.
    """

    GENERATION_TASKS: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        config: PretrainedConfig,
        task: str = "default",
        patching_specs: list[PatchingSpec] | None = None,
        use_past: bool = False,
    ) -> None:
        super().__init__(config, task=task, patching_specs=patching_specs, use_past=use_past)
        self.use_past = use_past or self.task.endswith("-with-past")

    @property
    def is_split(self) -> bool:
        """Whether this task exports an encoder and a decoder graph."""
        return self.task in self.GENERATION_TASKS

    def export_parts(self, model: Any) -> list[tuple[str, Any, OnnxConfig]]:
        if not self.is_split:
            return super().export_parts(model)

        encoder = self.get_encoder_onnx_config(self._config)
        decoder = self.get_decoder_onnx_config(self._config, self.task, self.use_past)
        for part in (encoder, decoder):
            part.MODEL_TYPE = self.MODEL_TYPE  # for messages
        return [(ENCODER_FILE, model.get_encoder(), encoder), (DECODER_FILE, model, decoder)]

    def generate_dummy_inputs(self, framework: str = "pt", **kwargs: Any) -> dict[str, Any]:
        """Split tasks: the encoder's dummy inputs, then the decoder's (names as in ``inputs``)."""
        if not self.is_split:
            return super().generate_dummy_inputs(framework, **kwargs)
        encoder = self.get_encoder_onnx_config(self._config)
        decoder = self.get_decoder_onnx_config(self._config, self.task, self.use_past)
        shared = set(DEFAULT_DUMMY_SHAPES) | {"seed"}
        unknown = set(kwargs) - shared - encoder._extra_shape_names() - decoder._extra_shape_names()
        if unknown:
            raise ConfigError(f"unknown dummy shape argument(s): {', '.join(sorted(unknown))}")
        arrays: dict[str, Any] = {}
        defaults = {**decoder.default_axis_sizes(), **encoder.default_axis_sizes()}  # one encoder length
        for part in (encoder, decoder):
            accepted = shared | part._extra_shape_names()
            sizes = {k: v for k, v in {**defaults, **kwargs}.items() if k in accepted}
            for name, value in part.generate_dummy_inputs(framework, **sizes).items():
                arrays[name if name not in arrays else f"decoder_{name}"] = value
        return arrays

    def _part_io(self, attr: str) -> dict[str, dict[int, str]]:
        """Inputs or outputs of both graphs, encoder first; clashing decoder names get ``decoder_``."""
        encoder = self.get_encoder_onnx_config(self._config)
        decoder = self.get_decoder_onnx_config(self._config, self.task, self.use_past)
        spec = {**getattr(encoder, attr)}
        for name, axes in getattr(decoder, attr).items():
            spec.setdefault(name if name not in spec else f"decoder_{name}", axes)
        return spec

    def get_encoder_onnx_config(self, config: PretrainedConfig) -> OnnxConfig:
        """The ONNX config of the encoder part, exported on its own."""
        raise ConfigError(f"{type(self).__name__} does not define an encoder export")

    def get_decoder_onnx_config(
        self, config: PretrainedConfig, task: str = "default", use_past: bool = False
    ) -> OnnxConfig:
        """The ONNX config of the decoder part, with or without past key/values."""
        raise ConfigError(f"{type(self).__name__} does not define a decoder export")
