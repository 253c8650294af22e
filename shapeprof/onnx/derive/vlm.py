"""Derivation for image-text-to-text models (LLaVA-style vision-language models).

Such a model embeds ``input_ids``, runs ``pixel_values`` through its vision tower and
projector, and scatters the image features into the positions holding its image placeholder
token (``config.image_token_id`` / ``image_token_index``): there must be exactly as many
placeholders as features. The derived config therefore

- probes the vision tower (``get_image_features``) for the number of features per image;
  the image size fixes that number, so the image sides are static;
- makes dummy ``input_ids`` with that many placeholders per row (one image per row, right
  after the first token; no other token id of the config's special ids elsewhere) and a
  padded ``attention_mask`` that never hides a placeholder;
- keeps batch and text length dynamic (the length from placeholders + 2 up).

Only ``feature-extraction`` is derived (``last_hidden_state`` of the language model over
text and image positions). Models whose vision path needs more inputs (``image_sizes``,
``image_grid_thw``, ...) are refused with the input named.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np

from ..base import OnnxConfig, PatchingSpec
from ..dummy import DummyInputGenerator
from ..normalized import NormalizedConfig
from ..text import EXPORTABLE_EXPERTS
from ..vision import IMAGE_AXES, DummyImageInputGenerator, image_size_of
from .families import Family, make_class
from .probe import (PROBED, check_required, first_line, forward_params, has_routed_experts, preprocessor_inputs,
                    vocab_size)
from .tiles import tile_count
from .vlm_patches import export_patches

IMAGE_TOKEN_ATTRIBUTES = ("image_token_id", "image_token_index")
TASKS = ("feature-extraction",)
# Per-image inputs of get_image_features the derived inputs do not make (Qwen2-VL grids, MiniCPM-V
# target sizes, ...): such models are refused with the input named.
GRID_INPUTS = ("image_grid_thw", "target_sizes", "image_merge_sizes", "spatial_shapes")
TEXT_AROUND_IMAGE = 2   # text tokens a row has besides its image placeholders, at the least


def image_token_attribute(config: Any) -> str | None:
    """The config attribute naming the image placeholder token (even when it is None)."""
    return next((a for a in IMAGE_TOKEN_ATTRIBUTES if a in vars(config) or hasattr(type(config), a)), None)


def is_image_text_to_text(model: Any) -> bool:
    """A text-and-vision model that scatters image features into placeholder tokens."""
    config = model.config
    return (getattr(config, "vision_config", None) is not None and getattr(config, "text_config", None) is not None
            and image_token_attribute(config) is not None)


def reserved_token_ids(config: Any) -> tuple[int, ...]:
    """Every special token id of the top-level config (image, video, start/end markers, ...)."""
    ids: set[int] = set()
    for name, value in vars(config).items():
        if not name.endswith(("_token_id", "_token_index", "_token_ids")):
            continue
        for v in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(v, int) and not isinstance(v, bool):
                ids.add(v)
    return tuple(sorted(ids))


# ---- dummy inputs --------------------------------------------------------------------------------

class NormalizedImageTextConfig(NormalizedConfig):
    """Vocabulary and positions from ``text_config``, image size from ``vision_config``; the
    derivation adds ``image_token_id``, ``image_tokens`` and ``reserved_ids``."""

    ATTRIBUTES = {"vocab_size": "text_config.vocab_size",
                  "max_position_embeddings": "text_config.max_position_embeddings",
                  "image_size": "vision_config.image_size", "num_channels": "vision_config.num_channels"}
    DEFAULTS = {"max_position_embeddings": None, "num_channels": 3, "reserved_ids": (), "tiles": 1}


class PlaceholderTextGenerator(DummyInputGenerator):
    """``input_ids`` with one image's placeholders per row at positions 1..n, and a mask whose
    last row ends in padding after the placeholders."""

    SUPPORTED_INPUT_NAMES = ("input_ids", "attention_mask")

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        cfg = self.normalized_config
        batch, length = self.shapes[axes[0]], self.shapes[axes[1]]
        tokens = int(cfg.image_tokens)
        if input_name == "attention_mask":
            mask = np.ones((batch, length), dtype=np.int64)
            first_pad = max(1 + tokens + 1, length - length // 4)
            mask[-1, first_pad:] = 0
            return mask
        vocab = int(cfg.vocab_size)
        reserved = np.array(cfg.reserved_ids, dtype=np.int64)
        ids = self.rng.integers(3 if vocab > 8 else 0, vocab, size=(batch, length), dtype=np.int64)
        safe = next(i for i in range(3, vocab) if i not in set(cfg.reserved_ids))
        ids = np.where(np.isin(ids, reserved), safe, ids)
        ids[:, 1:1 + tokens] = int(cfg.image_token_id)
        return ids


class ImageGenerator(DummyImageInputGenerator):
    """One image per row: ``(batch, C, H, W)``, or ``(batch, 1, C, H, W)`` for models that take
    several images per row (Idefics2/3, SmolVLM)."""

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        if int(self.normalized_config.get("pixel_rank") or 4) == 4:
            return super().generate(input_name, axes)
        tiles = int(self.normalized_config.get("tiles") or 1)   # tiled images: one per tile
        draw = super().generate
        return np.stack([draw(input_name, axes) for _ in range(tiles)], axis=1)


class ImageTextToTextOnnxConfig(OnnxConfig):
    """Text with one image per row: dynamic batch and text length, static image size."""

    NORMALIZED_CONFIG_CLASS: ClassVar[type[NormalizedConfig]] = NormalizedImageTextConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (PlaceholderTextGenerator, ImageGenerator)
    STATIC_AXES = IMAGE_AXES
    # Modeling modules whose ``torch_compilable_check`` (placeholders == features, ...) traces to
    # aten._is_all_true, which has no ONNX function: skipped while exporting (as for SigLIP 2).
    CHECKED_MODULES: ClassVar[tuple[str, ...]] = ()
    # The model needs image_sizes: the full image for every row (a graph constant; batch static).
    IMAGE_SIZES: ClassVar[bool] = False
    # A mixture-of-experts text model (Aria): traced with experts that torch.export can trace.
    EXPERTS_IMPLEMENTATION: ClassVar[str | None] = None

    def __init__(self, config: Any, task: str = "default", patching_specs: list[PatchingSpec] | None = None) -> None:
        super().__init__(config, task, patching_specs)
        self.patching_specs.extend(export_patches())
        for name in self.CHECKED_MODULES:
            self.patching_specs.append(PatchingSpec(importlib.import_module(name), "torch_compilable_check", _no_check))

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        text = {0: "batch_size", 1: "sequence_length"}
        offset = 1 if self.pixel_rank == 5 else 0
        return {"input_ids": dict(text), "attention_mask": dict(text),
                "pixel_values": {0: "batch_size", 2 + offset: "height", 3 + offset: "width"}}

    def export_settings(self) -> dict[str, Any]:
        experts = {"_experts_implementation": self.EXPERTS_IMPLEMENTATION} if self.EXPERTS_IMPLEMENTATION else {}
        return {**super().export_settings(), **experts}

    def to_model_kwargs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if not self.IMAGE_SIZES:
            return inputs
        batch = int(inputs["pixel_values"].shape[0])
        return {**inputs, "image_sizes": [list(self.image_size())] * batch}

    @property
    def pixel_rank(self) -> int:
        return int(self._normalized_config.get("pixel_rank") or 4)

    @property
    def image_tokens(self) -> int:
        """Placeholder tokens per image (the vision tower's features at the static image size)."""
        return int(self._normalized_config.image_tokens)

    def image_size(self) -> tuple[int, int]:
        return image_size_of(self._normalized_config)

    def default_axis_sizes(self) -> dict[str, int]:
        return {**dict(zip(IMAGE_AXES, self.image_size())), "sequence_length": self.image_tokens + 8}

    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        bounds = super().axis_bounds()
        bounds.update({axis: (size, size) for axis, size in zip(IMAGE_AXES, self.image_size())})
        if "batch_size" in self.STATIC_AXES:
            bounds["batch_size"] = (1, 1)
        limit = self._normalized_config.get("max_position_embeddings")
        bounds["sequence_length"] = (self.image_tokens + TEXT_AROUND_IMAGE, int(limit) if limit else None)
        return bounds

    def verification_shapes(self, trace: Mapping[str, int]) -> list[tuple[str, dict[str, int]]]:
        """One row at the shortest text; the trace; three rows with a longer text."""
        bounds = self.axis_bounds()
        small = {a: bounds[a][0] for a in trace}
        large = dict(trace, batch_size=bounds["batch_size"][1] or 3, sequence_length=self.image_tokens + 64)
        return [("smallest", small), ("trace", dict(trace)), ("large", large)]


# ---- the family ----------------------------------------------------------------------------------

class VisionProbe(NamedTuple):
    """What one image through ``get_image_features`` says: its layout and feature count."""

    pixel_rank: int       # 4: (batch, C, H, W); 5: (batch, images, C, H, W)
    image_tokens: int     # features per image = placeholders per image
    per_image: bool       # features come as a list, one tensor per image (unrolled at the traced batch)
    image_sizes: bool     # get_image_features requires image_sizes (each image's height and width)
    tiles: int = 1        # images per row in the 5-D layout (the tiles of a tiled image)


class ImageTextToText(Family):
    BASE = ImageTextToTextOnnxConfig

    @classmethod
    def derive(cls, model: Any, task: str) -> type[OnnxConfig]:
        config = model.config
        cls.check_task(model, task)
        token_attr, token = cls.image_token(model, task)
        inputs = cls.inputs(model, task)
        vision = cls.image_features(model, task)
        draft = make_class(cls.BASE, config.model_type, (), **cls.shared_attrs(model),
                           NORMALIZED_CONFIG_CLASS=_normalized(model, token_attr, vision),
                           STATIC_AXES=cls.static_axes(vision), IMAGE_SIZES=vision.image_sizes)
        tokens, static = vision.image_tokens, "batch_size" in draft.STATIC_AXES
        base = {"batch_size": 1 if static else 2, "sequence_length": tokens + 3}
        moved = {"sequence_length": tokens + 6, **({} if static else {"batch_size": 3})}
        axes, fixed = cls.probe(model, draft, task, base, moved)
        return cls.finish(draft, task, axes, fixed, **cls.shared_notes(model, inputs, f"{token_attr}={token}", tokens),
                          static_axes=list(draft.STATIC_AXES), static_because=cls.why_static(draft, config, vision))

    @staticmethod
    def shared_attrs(model: Any) -> dict[str, Any]:
        """The draft's class attributes every image-text family sets alike."""
        return {"CHECKED_MODULES": _checked_modules(model),
                "EXPERTS_IMPLEMENTATION": EXPORTABLE_EXPERTS if has_routed_experts(model) else None}

    @staticmethod
    def shared_notes(model: Any, inputs: list[str], image_token: str, tokens: int) -> dict[str, Any]:
        """The derivation record's first entries, alike in every image-text family."""
        model_type = model.config.model_type
        return {"preprocessor": preprocessor_inputs(model_type)[0],
                "image_processor": preprocessor_inputs(model_type, "image")[0],
                "inputs": inputs, "image_token": image_token, "image_tokens": tokens}

    @classmethod
    def check_task(cls, model: Any, task: str) -> None:
        if task not in TASKS:
            raise cls.fail(model, task, "task", "only feature-extraction is derived for an image-text-to-text "
                           "model (generation needs a vision graph and a decoder with past); pass --task "
                           "feature-extraction")

    @staticmethod
    def static_axes(vision: VisionProbe) -> tuple[str, ...]:
        return (*IMAGE_AXES, "batch_size") if vision.per_image or vision.image_sizes else IMAGE_AXES

    @staticmethod
    def why_static(draft: type[OnnxConfig], config: Any, vision: VisionProbe) -> str:
        height, width = draft(config, task=TASKS[0]).image_size()
        why = (f"the image size {height}x{width} fixes the number of image placeholder tokens "
               f"({vision.image_tokens} per image)")
        if vision.per_image:
            why += ("; get_image_features returns one tensor per image in a list, which torch.export "
                    "unrolls at the traced batch, so the batch is 1")
        elif vision.image_sizes:
            why += "; image_sizes (the full image, per row) is a constant of the graph, so the batch is 1"
        return why

    @classmethod
    def inputs(cls, model: Any, task: str) -> list[str]:
        return required_inputs(cls, model, task, {"input_ids", "attention_mask", "pixel_values"})

    @classmethod
    def image_token(cls, model: Any, task: str) -> tuple[str, int]:
        return placeholder_token(cls, model, task, "image", image_token_attribute(model.config),
                                 IMAGE_TOKEN_ATTRIBUTES)

    @classmethod
    def image_features(cls, model: Any, task: str) -> VisionProbe:
        """The vision tower on one image at the config's image size, in either pixel layout."""
        import torch

        features = _image_features_method(model)
        if features is None:
            raise cls.fail(model, task, "vision tower", "the model has no get_image_features to probe")
        sizes = cls.vision_inputs(model, task, features)
        vision = model.config.vision_config
        height, width = image_size_of(NormalizedConfig(vision))
        channels = int(getattr(vision, "num_channels", 3) or 3)
        extra = {"image_sizes": [[height, width]]} if sizes else {}
        tiles = tile_count(model, height, width)
        layouts = [(5, tiles)] if tiles else [(4, 1), (5, 1)]
        errors = []
        for rank, count in layouts:
            pixels = torch.randn((1, count, channels, height, width)[5 - rank:])
            try:
                with torch.no_grad():
                    out = features(pixel_values=pixels, **extra)
            except Exception as e:   # the other layout, or the model's own error at this size
                errors.append(f"{rank}-D pixel_values: {first_line(e)}")
                continue
            return VisionProbe(rank, *_count(out), sizes, count)
        raise cls.fail(model, task, f"vision tower at {height}x{width}", "; ".join(errors))

    @classmethod
    def vision_inputs(cls, model: Any, task: str, features: Any) -> bool:
        """Whether get_image_features requires image_sizes; fails when it takes other per-image
        inputs (patch grids, target sizes, ...) the derived inputs cannot give."""
        import inspect

        params = inspect.signature(features).parameters.values()
        named = [p for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        needs = [p.name for p in named if p.name != "pixel_values" and p.default is p.empty]
        grids = [p.name for p in named if p.name in GRID_INPUTS]
        missing = [n for n in needs if n != "image_sizes"] + [n for n in grids if n not in needs]
        if missing or ("image_sizes" in needs and "image_sizes" not in forward_params(model)):
            names = ", ".join(map(repr, missing or ["image_sizes"]))
            raise cls.fail(model, task, "vision tower", f"get_image_features takes {names} (per-image "
                           "patch grids or sizes), which the derived inputs do not provide")
        return "image_sizes" in needs


def _normalized(model: Any, token_attr: str, vision: VisionProbe) -> type[NormalizedConfig]:
    """The normalized config with the probed values (placeholders per image, pixel layout, ids)."""
    config = model.config
    values: dict[str, Any] = {"image_tokens": vision.image_tokens, "pixel_rank": vision.pixel_rank,
                              "tiles": vision.tiles, "reserved_ids": reserved_token_ids(config)}
    attrs = {**NormalizedImageTextConfig.ATTRIBUTES, "image_token_id": token_attr, **dict.fromkeys(values, PROBED)}
    return probed_normalized(NormalizedImageTextConfig, model, attrs, values, __name__)


def probed_normalized(base: type[NormalizedConfig], model: Any, attrs: dict[str, Any], values: dict[str, Any],
                      module: str) -> type[NormalizedConfig]:
    """``Derived<base>`` with the probed ``attrs`` and ``values``, and the model's own vocabulary size
    where its config's differs."""
    vocab = vocab_size(model)
    if vocab is not None and vocab != config_vocab(model.config):
        attrs, values = {**attrs, "vocab_size": PROBED}, {**values, "vocab_size": vocab}
    return type(f"Derived{base.__name__}", (base,),
                {"ATTRIBUTES": attrs, "DEFAULTS": {**base.DEFAULTS, **values}, "__module__": module})


def _checked_modules(model: Any) -> tuple[str, ...]:
    modules = {type(m).__module__ for m in model.modules()}
    return tuple(sorted(n for n in modules if hasattr(importlib.import_module(n), "torch_compilable_check")))


def _no_check(*args: Any, **kwargs: Any) -> None:
    return None


def config_vocab(config: Any) -> int | None:
    text = getattr(config, "text_config", None)
    return getattr(text, "vocab_size", None) or getattr(config, "vocab_size", None)


def _image_features_method(model: Any) -> Any:
    for owner in (model, getattr(model, "model", None)):
        method = getattr(owner, "get_image_features", None)
        if method is not None:
            return method
    return None


def _count(out: Any) -> tuple[int, bool]:
    """(features of the one image, whether they come as a list per image): from ``pooler_output``
    (a list per image or a tensor), else the output itself."""
    value = getattr(out, "pooler_output", None)
    value = out if value is None else value
    per_image = isinstance(value, (list, tuple))
    shape = tuple((value[0] if per_image else value).shape)
    return int(shape[-2] if len(shape) >= 3 else shape[0]), per_image


def required_inputs(family: Any, model: Any, task: str, given: set[str]) -> list[str]:
    """``given``, sorted, when ``forward`` takes them all and requires nothing else."""
    params = forward_params(model)
    if not given <= set(params):
        raise family.fail(model, task, "inputs", f"forward does not take {sorted(given - set(params))}")
    check_required(model, task, given, family.BASE.__name__)
    return sorted(given)


def placeholder_token(family: Any, model: Any, task: str, media: str, attr: str | None,
                      names: Sequence[str]) -> tuple[str, int]:
    """The config's placeholder token id for ``media`` (image, audio): set, and inside the vocabulary."""
    config = model.config
    token = getattr(config, attr, None) if attr else None
    if not isinstance(token, int):
        raise family.fail(model, task, "inputs", f"the config names no {media} placeholder token id "
                          f"({' or '.join(names)})")
    vocab = vocab_size(model) or config_vocab(config)
    if vocab is None or not 0 <= token < vocab:
        raise family.fail(model, task, "inputs", f"the {media} placeholder token {attr}={token} is outside "
                          f"the vocabulary ({vocab} ids)")
    return attr or "", token
