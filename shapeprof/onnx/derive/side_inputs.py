"""Derivation for models whose forward takes one input beyond their preprocessor's, when the
model itself says what a valid value is (see :mod:`shapeprof.onnx.derive`):

- ``noise`` of a model that samples in forward (ViTMAE's random patch masking): the randomness
  becomes an input, uniform in [0, 1), one value per patch (a static axis: the patch count);
- ``prompt_*`` images of in-context segmentation (SegGPT): the prompt image and mask take the
  input image's shape; the config's image size is the canvas of prompt and input stacked along
  the height, so each image is half its height;
- region features of detector-fed text encoders (VisualBERT, LXMERT): float vectors of the
  config's feature size (``visual_embedding_dim``, ``visual_feat_dim``), normalized boxes
  (``visual_pos_dim``), over a dynamic ``num_regions`` axis;
- ``lang_ids`` of language-adapter encoders (X-MOD): one language per example, an index into
  ``config.languages``; the adapters are exported as a masked sum over every language
  (the same values; the model's own boolean-index loop has data-dependent shapes);
- hashed character ids (CANINE): no embedding table gives the range, the ids are Unicode code
  points (``num_hash_buckets`` hashes them), so dummy ids are drawn below 0x110000;
- an image size only a ``vision_config`` or ``backbone_config`` gives (SAM): the sides come from it.

DETR-style detectors (an encoder-decoder over ``num_queries`` object queries taking ``pixel_values``)
are refused in one line: DEIMv2 reads its batch as a Python int (``len(tensor)``), which torch.export
fixes.

A family's outputs are the level-2 class's when the model returns them, else every tensor one
forward pass returns (LXMERT's language, vision and pooled outputs; SAM's masks and scores).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np

from ..base import OnnxConfig
from ..dummy import DummyInputGenerator, DummyTextInputGenerator, padded_mask
from ..text import TextEncoderOnnxConfig
from ..vision import DummyImageInputGenerator, VisionOnnxConfig
from .families import Encoder, Family, Vision
from .probe import PROBED, DeriveError, config_value, dynamic_trace_guard, forward_params, run, vocab_size

UNICODE_CODE_POINTS = 0x110000
REGION_FEATURES = {"visual_embeds": "visual_embedding_dim", "visual_feats": "visual_feat_dim"}
REGION_INPUTS = ("visual_attention_mask", "visual_token_type_ids", "visual_pos")
REGION_SIZES = ({"num_regions": 5}, {"num_regions": 7})   # (probe base, moved): distinct from the text axes


def family(model: Any, task: str) -> type[Family] | None:
    """The family of this module that derives ``model``, or None (another family's turn)."""
    config = model.config
    params = forward_params(model)
    main = getattr(model, "main_input_name", "input_ids")
    if main == "input_ids" and not getattr(config, "is_encoder_decoder", False):
        if "lang_ids" in params and _languages(config):
            return LanguageAdapterEncoder
        if any(n in params and config_value(config, dim) for n, dim in REGION_FEATURES.items()):
            return RegionEncoder
        if config_value(config, "num_hash_buckets") and vocab_size(model) is None:
            return HashedEncoder
    if main == "pixel_values" and getattr(config, "is_encoder_decoder", False):
        if config_value(config, "num_queries") and "input_ids" not in params:
            raise DeriveError(config.model_type, task, "family", "a detector over object queries (a DETR-style "
                              "encoder-decoder taking 'pixel_values') is not derived", VisionOnnxConfig.__name__)
        return None
    if main == "pixel_values" and config_value(config, "text_config") is None:   # text and images: towers, vlm
        if "noise" in params and config_value(config, "patch_size"):
            return NoiseVision
        if any(required and n.startswith("prompt_") for n, required in params.items()):
            return PromptVision
        if _sub_image_size(config):
            return SubConfigVision
    return None


def _languages(config: Any) -> tuple[str, ...]:
    languages = config_value(config, "languages")
    return tuple(languages) if isinstance(languages, (list, tuple)) else ()


SUB_CONFIGS = ("vision_config", "backbone_config")   # where a composite model's image size lives


def _sub_image_size(config: Any) -> str | None:
    """``<sub-config>.image_size`` when the config itself names no image size, else None."""
    if config_value(config, "image_size"):
        return None
    return next((f"{sub}.image_size" for sub in SUB_CONFIGS
                 if config_value(config_value(config, sub), "image_size")), None)


# ---- outputs: the level-2 class's, else what the forward pass returns -----------------------------

class ForwardOutputs(OnnxConfig):
    """Outputs named by ``FORWARD_OUTPUTS`` when set (axes from the probe), else the level 2's."""

    FORWARD_OUTPUTS: ClassVar[tuple[str, ...]] = ()

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        if self.FORWARD_OUTPUTS:
            return {name: {0: "batch_size"} for name in self.FORWARD_OUTPUTS}
        return super().outputs


def forward_outputs(model: Any, cfg: OnnxConfig, sizes: Mapping[str, int]) -> tuple[str, ...]:
    """() when one forward pass returns every output of ``cfg``, else the tensors it returns."""
    import torch

    out = run(model, cfg, sizes)
    if all(out.get(name) is not None for name in cfg.outputs):
        return ()
    return tuple(k for k, v in out.items() if isinstance(v, torch.Tensor))


class OutputsFamily(Family):
    """Finds the outputs of the draft (``FORWARD_OUTPUTS``) before its axes are probed; the
    derivation record lists every input, the generated ones too."""

    @classmethod
    def derive(cls, model: Any, task: str) -> type[OnnxConfig]:
        derived: type[OnnxConfig] = super().derive(model, task)
        derived.DERIVATION = {**derived.DERIVATION, "inputs": list(derived(model.config, task=task).inputs)}
        return derived

    @classmethod
    def probe(cls, model: Any, draft: type[OnnxConfig], task: str, base: Mapping[str, int],
              moved: Mapping[str, int], skip: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
        base, moved = cls.sizes(base, moved)
        try:
            names = forward_outputs(model, draft(model.config, task=task), base)
        except Exception:   # the probe below reports the model's own error with the shapes
            names = ()
        if names:
            draft.FORWARD_OUTPUTS = names
        return super().probe(model, draft, task, base, moved, skip)

    @classmethod
    def sizes(cls, base: Mapping[str, int], moved: Mapping[str, int]) -> tuple[dict[str, int], dict[str, int]]:
        return dict(base), dict(moved)


# ---- images: noise, prompt images, an image size from the vision sub-config ---------------------------

class DummyNoiseInputGenerator(DummyImageInputGenerator):
    """``noise``: uniform in [0, 1), one value per patch of the image (batch, patches)."""

    SUPPORTED_INPUT_NAMES = ("noise",)

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        patch = self.normalized_config.get("patch_size")
        ph, pw = (int(patch[0]), int(patch[-1])) if isinstance(patch, (list, tuple)) else (int(patch), int(patch))
        shape = (self.shapes[axes.get(0, "batch_size")], (self.height // ph) * (self.width // pw))
        return self.rng.random(shape, dtype=np.float32)


class NoiseVisionOnnxConfig(ForwardOutputs, VisionOnnxConfig):
    """Image models that sample in forward, their noise an input (see module doc)."""

    DUMMY_INPUT_GENERATOR_CLASSES = (DummyImageInputGenerator, DummyNoiseInputGenerator)

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        return {**super().inputs, "noise": {0: "batch_size"}}


class DummyPromptInputGenerator(DummyImageInputGenerator):
    """``prompt_*`` images: the shape of ``pixel_values``, normalized pixels."""

    def supports(self, input_name: str) -> bool:
        return input_name.startswith("prompt_")

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        return super().generate("pixel_values", axes)


class PromptVisionOnnxConfig(ForwardOutputs, VisionOnnxConfig):
    """In-context segmentation: the input image and the prompt images (``PROMPTS``), one shape."""

    DUMMY_INPUT_GENERATOR_CLASSES = (DummyImageInputGenerator, DummyPromptInputGenerator)
    PROMPTS: ClassVar[tuple[str, ...]] = ()

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        spec = super().inputs
        return {**spec, **{name: dict(spec["pixel_values"]) for name in self.PROMPTS}}


class SubConfigVisionOnnxConfig(ForwardOutputs, VisionOnnxConfig):
    """Image models whose image size is ``vision_config.image_size`` (SAM) or ``backbone_config``'s."""


def _with_image_size(normalized: type, attribute: str, value: Any = None) -> type:
    """``normalized`` with ``image_size`` read from ``attribute`` (or the literal ``value``)."""
    attrs = {"ATTRIBUTES": {**normalized.ATTRIBUTES, "image_size": attribute},
             "DEFAULTS": {**normalized.DEFAULTS, **({"image_size": value} if value is not None else {})}}
    return type(normalized.__name__, (normalized,), attrs)


class ImageFamily(OutputsFamily, Vision):
    """The Vision family with this module's outputs and, per subclass, the image size."""

    @classmethod
    def image_size(cls, model: Any, normalized: type) -> type:
        return normalized

    @classmethod
    def pixel_draft(cls, model: Any, task: str, normalized_base: type, optional: dict[str, Any]
                    ) -> tuple[str | None, Any, type[OnnxConfig]]:
        preprocessor, normalized, draft = super().pixel_draft(model, task, normalized_base, optional)
        normalized = draft.NORMALIZED_CONFIG_CLASS = cls.image_size(model, normalized)
        return preprocessor, normalized, draft


class NoiseVision(ImageFamily):
    BASE = NoiseVisionOnnxConfig


class PromptVision(ImageFamily):
    BASE = PromptVisionOnnxConfig

    @classmethod
    def side_inputs(cls, model: Any) -> tuple[str, ...]:
        return tuple(n for n, required in forward_params(model).items() if required and n.startswith("prompt_"))

    @classmethod
    def extra_attrs(cls, model: Any, task: str) -> dict[str, Any]:
        return {"PROMPTS": cls.side_inputs(model)}

    @classmethod
    def image_size(cls, model: Any, normalized: type) -> type:
        """Half the canvas height: the prompt and the input image are stacked along it."""
        size = config_value(model.config, "image_size")
        height, width = (size[0], size[-1]) if isinstance(size, (list, tuple)) else (size, size)
        return _with_image_size(normalized, PROBED, (int(height) // 2, int(width)))


class SubConfigVision(ImageFamily):
    BASE = SubConfigVisionOnnxConfig

    @classmethod
    def image_size(cls, model: Any, normalized: type) -> type:
        return _with_image_size(normalized, _sub_image_size(model.config) or "image_size")


# ---- text: region features, language ids, hashed characters -------------------------------------------

class DummyRegionInputGenerator(DummyInputGenerator):
    """Detector region features (batch, regions, feature size), normalized boxes (x0, y0, x1, y1),
    a padded region mask, region token types (1: VisualBERT's default)."""

    SUPPORTED_INPUT_NAMES = (*REGION_FEATURES, *REGION_INPUTS)

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        shape = (self.shapes[axes[0]], self.shapes.get(axes[1], REGION_SIZES[0]["num_regions"]))
        cfg = self.normalized_config
        if input_name in REGION_FEATURES:
            return self.rng.standard_normal((*shape, int(cfg.get(REGION_FEATURES[input_name]))), dtype=np.float32)
        if input_name == "visual_pos":
            dims = int(cfg.get("visual_pos_dim") or 4)
            corners = np.sort(self.rng.random((*shape, 2, max(1, dims // 2)), dtype=np.float32), axis=-2)
            return corners.reshape(*shape, -1)[..., :dims] if dims % 2 == 0 else self.rng.random((*shape, dims),
                                                                                                  dtype=np.float32)
        if input_name == "visual_attention_mask":
            return padded_mask(shape)
        return np.ones(shape, dtype=np.int64)


class RegionEncoderOnnxConfig(ForwardOutputs, TextEncoderOnnxConfig):
    """Text plus detector region features over a dynamic ``num_regions`` axis."""

    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator, DummyRegionInputGenerator)
    REGION_INPUTS: ClassVar[tuple[str, ...]] = ()

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        return {**super().inputs, **{n: {0: "batch_size", 1: "num_regions"} for n in self.REGION_INPUTS}}

    def default_axis_sizes(self) -> dict[str, int]:
        return {**super().default_axis_sizes(), **REGION_SIZES[1]}


class RegionEncoder(OutputsFamily, Encoder):
    BASE = RegionEncoderOnnxConfig
    OTHER_MODALITY_INPUTS = ("bbox", "pixel_values", "image", "input_features")

    @classmethod
    def extra_attrs(cls, model: Any, task: str) -> dict[str, Any]:
        params = forward_params(model)
        return {"REGION_INPUTS": tuple(n for n in (*REGION_FEATURES, *REGION_INPUTS) if n in params)}

    @classmethod
    def sizes(cls, base: Mapping[str, int], moved: Mapping[str, int]) -> tuple[dict[str, int], dict[str, int]]:
        return {**base, **REGION_SIZES[0]}, {**moved, **REGION_SIZES[1]}


class DummyLanguageInputGenerator(DummyInputGenerator):
    """``lang_ids``: one language per example, an index into ``config.languages``."""

    SUPPORTED_INPUT_NAMES = ("lang_ids",)

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        languages = len(_languages(self.normalized_config.config))
        return self.rng.integers(0, languages, size=(self.shapes[axes[0]],), dtype=np.int64)


class LanguageAdapterOnnxConfig(TextEncoderOnnxConfig):
    """Text encoders with one adapter per language, chosen by ``lang_ids`` (X-MOD)."""

    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator, DummyLanguageInputGenerator)

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        return {**super().inputs, "lang_ids": {0: "batch_size"}}

    @contextlib.contextmanager
    def patch_model_for_export(self, model: Any) -> Iterator[Any]:
        with masked_adapters(model), super().patch_model_for_export(model):
            yield model


def _adapter_owners(model: Any) -> list[Any]:
    return [m for m in model.modules() if hasattr(m, "adapter_modules") and hasattr(m, "lang_adapter")]


@contextlib.contextmanager
def masked_adapters(model: Any) -> Iterator[None]:
    """Within the block, each ``lang_adapter`` runs every language's adapter on every example and
    keeps, per example, its language's (a masked sum): the same values without boolean indexing."""
    owners = _adapter_owners(model)
    try:
        for owner in owners:
            owner.lang_adapter = _masked_lang_adapter.__get__(owner)
        yield
    finally:
        for owner in owners:
            owner.__dict__.pop("lang_adapter", None)


def _masked_lang_adapter(self: Any, lang_ids: Any, hidden_states: Any) -> Any:
    """X-MOD's ``lang_adapter`` (layer norm placement, residual, dropout) with a masked sum."""
    residual = hidden_states if not self.ln_before_adapter else None
    if self.adapter_layer_norm is not None:
        hidden_states = self.adapter_layer_norm(hidden_states)
    elif self.adapter_reuse_layer_norm:
        hidden_states = self.LayerNorm(hidden_states)
    if self.ln_before_adapter:
        residual = hidden_states
    adapted = hidden_states * 0
    for index, key in enumerate(self.adapter_modules.keys()):
        mask = (lang_ids == index).reshape(-1, *([1] * (hidden_states.dim() - 1)))
        adapted = adapted + mask.to(hidden_states.dtype) * self.adapter_modules[key](hidden_states)
    return self.dropout(adapted) + residual


class LanguageAdapterEncoder(Encoder):
    BASE = LanguageAdapterOnnxConfig

    @classmethod
    def derive(cls, model: Any, task: str) -> type[OnnxConfig]:
        derived = super().derive(model, task)
        derived.DERIVATION = {**derived.DERIVATION, "inputs": [*derived.DERIVATION["inputs"], "lang_ids"],
                              "languages": list(_languages(model.config))}
        return derived


class HashedEncoderOnnxConfig(TextEncoderOnnxConfig):
    """Character encoders; ``sequence_length`` is static at ``STATIC_LENGTH`` when listed in
    ``STATIC_AXES`` (the model's code fixes the length it was traced at)."""

    STATIC_LENGTH: ClassVar[int] = 0

    def default_axis_sizes(self) -> dict[str, int]:
        static = "sequence_length" in self.STATIC_AXES and self.STATIC_LENGTH
        return {**super().default_axis_sizes(), **({"sequence_length": self.STATIC_LENGTH} if static else {})}

    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        bounds = super().axis_bounds()
        bounds.update({a: (n, n) for a, n in self.default_axis_sizes().items() if a in self.STATIC_AXES})
        return bounds


class HashedEncoder(Encoder):
    """Character encoders hashing code points into ``num_hash_buckets`` (CANINE). When torch.export
    keeps the sequence dynamic only under a guard (CANINE's local attention loops over chunks in
    Python), the sequence is static at the tokenizer's ``model_max_length`` and the guard is said."""

    BASE = HashedEncoderOnnxConfig

    @classmethod
    def id_range(cls, model: Any) -> int | None:
        return UNICODE_CODE_POINTS

    @classmethod
    def derive(cls, model: Any, task: str) -> type[OnnxConfig]:
        derived = super().derive(model, task)
        record = {**derived.DERIVATION, "token_ids": f"Unicode code points (below {UNICODE_CODE_POINTS:#x}), hashed"}
        guard = dynamic_trace_guard(model, derived(model.config, task=task))
        if guard:
            derived.STATIC_AXES, derived.STATIC_LENGTH = ("sequence_length",), _max_length(model)
            record.update(static_axes=["sequence_length"], static_because=f"torch.export keeps the sequence "
                          f"dynamic only where {guard}", sequence_length=derived.STATIC_LENGTH)
        derived.DERIVATION = record
        return derived


def _max_length(model: Any) -> int:
    """The tokenizer class's default ``model_max_length``, else the position table's size."""
    import inspect

    from transformers.models.auto import tokenization_auto

    name = tokenization_auto.TOKENIZER_MAPPING_NAMES.get(model.config.model_type)
    tokenizer = tokenization_auto.tokenizer_class_from_name(name) if isinstance(name, str) else None
    try:
        default = inspect.signature(tokenizer.__init__).parameters["model_max_length"].default
    except (AttributeError, KeyError, TypeError, ValueError):   # no tokenizer class, or no such default
        default = None
    return int(default) if isinstance(default, int) else int(config_value(model.config, "max_position_embeddings"))
