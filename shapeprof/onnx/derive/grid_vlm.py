"""Derivation for "grid" vision-language models (Qwen2-VL style: Qwen2/2.5/3-VL, GLM-4V, PaddleOCR-VL,
VideoLLaMA 3, ...).

Such a model takes an image as flattened patches, ``pixel_values`` of shape
``(patches, channels * temporal_patch * patch * patch)`` (or ``(patches, C, P, P)``), plus
``image_grid_thw`` (the image's patch grid, one ``[t, h, w]`` row per image; VideoLLaMA 3 also
``image_merge_sizes``); its language model places the merged patches on the image placeholder tokens
and, for most, rotates them with 3-D "M-RoPE" positions computed from where those tokens are.

The derived config fixes the image to one grid of ``2m x 3m`` patches (``m`` = the spatial merge
size; non-square so that rows and columns cannot be swapped unnoticed):

- ``image_grid_thw`` (and ``image_merge_sizes``) is a **constant baked into the graph**, not an input:
  the vision tower turns the grid into Python numbers (``split(lengths.tolist())``, per-image
  attention windows), which torch.export can only trace as constants. ``pixel_values`` is therefore
  fully static, and onnxruntime rejects patches of any other grid with a shape error;
- the batch is 1 (static): the vision tower attends image by image over a list of lengths, which
  torch.export unrolls at the traced number of images;
- the text length stays dynamic. ``mm_token_type_ids`` is computed in the graph from ``input_ids``
  (image placeholder -> 1); the model's own M-RoPE index (``get_rope_index``: a Python loop over
  ``tolist()`` groups) is replaced while exporting by a vectorised equivalent for one image of the
  fixed grid (text positions count up, image tokens take the model's own relative 3-D block, the
  text after it resumes past that block). Verification runs the unpatched model, so the exported
  positions are checked against the model's own code.

Only ``feature-extraction`` is derived, as for LLaVA-style models (:mod:`.vlm`).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import numpy as np

from ..base import OnnxConfig, PatchingSpec
from ..dummy import DummyInputGenerator
from ..normalized import NormalizedConfig
from ..vision import IMAGE_AXES
from .families import make_class
from .probe import PROBED, first_line
from .vlm import (
    ImageTextToText,
    ImageTextToTextOnnxConfig,
    PlaceholderTextGenerator,
    VisionProbe,
    _count,
    _image_features_method,
    _normalized,
)

GRID_INPUT = "image_grid_thw"
MERGE_INPUT = "image_merge_sizes"
TOKEN_TYPES = "mm_token_type_ids"
ROPE_INDEX = "get_rope_index"
# While exporting, torch's fake tensors fold values computed only from literals (here the grid
# constants: patch counts, attention windows, vision positions) up to this many elements (torch's
# default is 1), so the vision tower's ``tolist()`` on them gives numbers instead of unbacked symbols.
CONSTANT_NUMEL = 4096


def is_grid_vlm(model: Any) -> bool:
    """An image-text-to-text model whose vision tower takes the patch grid (``image_grid_thw``)."""
    features = _image_features_method(model)
    return features is not None and GRID_INPUT in inspect.signature(features).parameters


# ---- the config ----------------------------------------------------------------------------------

class GridPixelGenerator(DummyInputGenerator):
    """The one image's flattened patches, at the probed static shape."""

    SUPPORTED_INPUT_NAMES = ("pixel_values",)

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        shape = tuple(int(s) for s in self.normalized_config.pixel_shape)
        return self.rng.standard_normal(shape).astype(np.float32)


class GridImageTextOnnxConfig(ImageTextToTextOnnxConfig):
    """Text with one image of a fixed patch grid: batch 1, dynamic text length, static patches."""

    DUMMY_INPUT_GENERATOR_CLASSES = (PlaceholderTextGenerator, GridPixelGenerator)
    STATIC_AXES = (*IMAGE_AXES, "batch_size")
    # (module, class) owning the model's M-RoPE index, replaced while exporting; None: no M-RoPE.
    ROPE_OWNER: ClassVar[tuple[str, str] | None] = None
    # The model's own relative 3-D positions of the image's tokens (3 rows of image_tokens).
    ROPE_BLOCK: ClassVar[tuple[tuple[int, ...], ...]] = ()
    # (module, name) of transformers' vision_utils helpers the model's modules call (grid -> windows,
    # positions, attention lengths): evaluated eagerly at the fixed grid while exporting.
    VISION_HELPERS: ClassVar[tuple[tuple[str, str], ...]] = ()
    # A mixture of experts in the language model is traced with transformers' batched experts.
    EXPERTS_IMPLEMENTATION: ClassVar[str | None] = None
    TOKEN_TYPES: ClassVar[bool] = False    # forward takes mm_token_type_ids (computed from input_ids)
    MERGE_SIZES: ClassVar[bool] = False    # get_image_features takes image_merge_sizes

    def __init__(self, config: Any, task: str = "default", patching_specs: list[PatchingSpec] | None = None) -> None:
        super().__init__(config, task, patching_specs)
        from torch._subclasses import fake_tensor

        if hasattr(fake_tensor, "CONSTANT_NUMEL_LIMIT"):   # a private knob: without it, export fails in one line
            self.patching_specs.append(PatchingSpec(fake_tensor, "CONSTANT_NUMEL_LIMIT", op_wrapper=_constant_limit))
        for module, name in self.VISION_HELPERS:
            self.patching_specs.append(PatchingSpec(importlib.import_module(module), name, op_wrapper=eager_helper))
        if self.ROPE_OWNER is not None:
            module, name = self.ROPE_OWNER
            owner = getattr(importlib.import_module(module), name)
            self.patching_specs.append(PatchingSpec(owner, ROPE_INDEX, rope_index_for(self.ROPE_BLOCK)))

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        text = {0: "batch_size", 1: "sequence_length"}
        return {"input_ids": dict(text), "attention_mask": dict(text), "pixel_values": {}}

    def to_model_kwargs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Adds the grid constants and the token types the model's processor would give."""
        import torch

        cfg = self._normalized_config
        kwargs = {**inputs, GRID_INPUT: torch.tensor([list(cfg.grid)], dtype=torch.long)}
        if self.MERGE_SIZES:
            kwargs[MERGE_INPUT] = torch.tensor([int(cfg.merge_size)], dtype=torch.long)
        if self.TOKEN_TYPES:
            kwargs[TOKEN_TYPES] = (inputs["input_ids"] == int(cfg.image_token_id)).to(torch.int32)
        return kwargs

    def export_settings(self) -> dict[str, Any]:
        experts = {"_experts_implementation": self.EXPERTS_IMPLEMENTATION} if self.EXPERTS_IMPLEMENTATION else {}
        return {**super().export_settings(), **experts}

    def image_size(self) -> tuple[int, int]:
        height, width = self._normalized_config.image_size
        return int(height), int(width)

    def default_axis_sizes(self) -> dict[str, int]:
        return {"sequence_length": self.image_tokens + 8}

    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        bounds = super().axis_bounds()
        return {axis: size for axis, size in bounds.items() if axis not in IMAGE_AXES}


def _constant_limit(limit: int) -> int:
    return max(limit, CONSTANT_NUMEL)


def eager_helper(helper: Any) -> Any:
    """``helper`` (a transformers ``vision_utils`` function of the grid and config scalars) run
    outside the trace on the grid's values, its tensors returned as constants of the graph.

    Inside the trace the grid is a folded constant, but the helper builds its tensors with factory
    functions (``arange``) and boolean masks, which torch.export would make data-dependent."""

    def eager(*args: Any, **kwargs: Any) -> Any:
        import torch
        from torch.utils._python_dispatch import _disable_current_modes
        from torch.utils._pytree import tree_map_only

        values = [(a.tolist(), a.dtype) if isinstance(a, torch.Tensor) else a for a in args]
        with _disable_current_modes():
            real = helper(*[torch.tensor(v[0], dtype=v[1]) if isinstance(a, torch.Tensor) else a
                            for v, a in zip(values, args)], **kwargs)
            real = tree_map_only(torch.Tensor, lambda t: _Values(t.tolist(), t.dtype), real)
        return tree_map_only(_Values, lambda v: torch.tensor(v.values, dtype=v.dtype), real)

    return eager


class _Values:
    """A tensor's values, carried out of the untraced computation (a leaf for pytree)."""

    def __init__(self, values: Any, dtype: Any) -> None:
        self.values, self.dtype = values, dtype


def rope_index_for(block: tuple[tuple[int, ...], ...]) -> Any:
    """A traceable ``get_rope_index`` for rows holding whole images of one grid, whose tokens take
    ``block`` (3 x tokens) relative to the position where the image starts."""

    def get_rope_index(self: Any, input_ids: Any, mm_token_type_ids: Any, image_grid_thw: Any = None,
                       video_grid_thw: Any = None, attention_mask: Any = None, **kwargs: Any) -> tuple[Any, Any]:
        import torch

        rel = torch.tensor(block, dtype=torch.long, device=input_ids.device)
        tokens, advance = rel.shape[1], int(max(max(row) for row in block)) + 1
        valid = torch.ones_like(input_ids, dtype=torch.bool) if attention_mask is None else attention_mask.bool()
        image = (mm_token_type_ids == 1) & valid
        index = valid.long().cumsum(-1) - 1                 # position among the real tokens
        seen = image.long().cumsum(-1)                      # image tokens up to here (inclusive)
        text = index - seen + (seen // tokens) * advance    # text resumes past each whole image
        within, done = (seen - 1).clamp(min=0) % tokens, (seen - 1).clamp(min=0) // tokens
        start = index - within - done * tokens + done * advance
        vision = start.unsqueeze(0) + rel[:, within]        # (3, batch, length)
        positions = torch.where(image.unsqueeze(0), vision, text.unsqueeze(0).expand(3, -1, -1))
        positions = torch.where(valid.unsqueeze(0), positions, torch.zeros_like(positions))
        deltas = positions.amax(dim=(0, 2)) + 1 - valid.long().sum(-1)
        return positions.to(input_ids.dtype), deltas.unsqueeze(1)

    return get_rope_index


# ---- the family ----------------------------------------------------------------------------------

class GridLayout(NamedTuple):
    """The fixed image: its patch grid, the pixel_values shape and the merge size."""

    grid: tuple[int, int, int]
    pixel_shape: tuple[int, ...]
    merge_size: int
    patch_size: int


class GridImageTextToText(ImageTextToText):
    BASE = GridImageTextOnnxConfig

    @classmethod
    def derive(cls, model: Any, task: str) -> type[OnnxConfig]:
        config = model.config
        cls.check_task(model, task)
        token_attr, token = cls.image_token(model, task)
        inputs = cls.inputs(model, task)
        layout, vision, merge = cls.grid_features(model, task)
        rope = cls.rope(model, task, layout)
        draft = make_class(cls.BASE, config.model_type, (), **cls.shared_attrs(model),
                           NORMALIZED_CONFIG_CLASS=_grid_normalized(model, token_attr, vision, layout),
                           ROPE_OWNER=rope[0], ROPE_BLOCK=rope[1], MERGE_SIZES=merge,
                           VISION_HELPERS=vision_helpers(model),
                           TOKEN_TYPES=TOKEN_TYPES in inspect.signature(model.forward).parameters)
        tokens = vision.image_tokens
        base, moved = {"batch_size": 1, "sequence_length": tokens + 3}, {"sequence_length": tokens + 6}
        axes, fixed = cls.probe(model, draft, task, base, moved)
        return cls.finish(draft, task, axes, fixed, **cls.shared_notes(model, inputs, f"{token_attr}={token}", tokens),
                          image_grid_thw=list(layout.grid), pixel_values_shape=list(layout.pixel_shape),
                          mrope="exported vectorised, verified against the model's get_rope_index" if rope[0]
                          else "none", static_axes=["batch_size"], static_inputs=["pixel_values"],
                          static_because=cls.why_grid_static(layout, tokens))

    @staticmethod
    def why_grid_static(layout: GridLayout, tokens: int) -> str:
        _, h, w = layout.grid
        return (f"the image is one grid of {h}x{w} patches ({h * layout.patch_size}x{w * layout.patch_size} "
                f"pixels, {tokens} placeholder tokens): image_grid_thw={[list(layout.grid)]} is a constant of "
                "the graph because the vision tower turns it into Python numbers; the vision tower attends "
                "image by image, which torch.export unrolls, so the batch is 1")

    @classmethod
    def grid_features(cls, model: Any, task: str) -> tuple[GridLayout, VisionProbe, bool]:
        """The vision tower on one image of the fixed grid, in the first pixel layout it accepts."""
        import torch

        features = _image_features_method(model)
        merge_input = MERGE_INPUT in inspect.signature(features).parameters
        errors = []
        for layout in candidate_layouts(model.config.vision_config):
            extra = {MERGE_INPUT: torch.tensor([layout.merge_size])} if merge_input else {}
            try:
                with torch.no_grad():
                    out = features(pixel_values=torch.randn(layout.pixel_shape),
                                   image_grid_thw=torch.tensor([list(layout.grid)]), **extra)
                tokens, per_image = _count(out)
            except Exception as e:   # the other layout, or the model's own error at this grid
                errors.append(f"pixel_values {layout.pixel_shape}: {first_line(e)}")
                continue
            return layout, VisionProbe(2, tokens, per_image, False), merge_input
        raise cls.fail(model, task, "vision tower", "; ".join(errors) or "the vision config names no patch_size")

    @classmethod
    def rope(cls, model: Any, task: str, layout: GridLayout) -> tuple[tuple[str, str] | None, tuple[Any, ...]]:
        """(owner of get_rope_index, the image's relative 3-D block), or (None, ()) without M-RoPE."""
        import torch

        owner = next((m for m in (model, getattr(model, "model", None)) if hasattr(m, ROPE_INDEX)), None)
        if owner is None:
            return None, ()
        positions = getattr(owner, "get_vision_position_ids", None)
        if positions is None:
            raise cls.fail(model, task, "M-RoPE", f"{type(owner).__name__}.{ROPE_INDEX} has no "
                           "get_vision_position_ids to give the image's 3-D positions")
        try:
            block = positions(0, torch.tensor(layout.grid), 1, layout.merge_size)
        except Exception as e:   # another signature
            raise cls.fail(model, task, "M-RoPE", f"get_vision_position_ids: {first_line(e)}") from e
        klass = type(owner)
        return (klass.__module__, klass.__name__), tuple(tuple(int(v) for v in row) for row in block.tolist())


def vision_helpers(model: Any) -> tuple[tuple[str, str], ...]:
    """(module, name) of every transformers ``vision_utils`` ``get_vision_*`` function bound in the
    modules the model's layers come from."""
    found = set()
    for name in {type(m).__module__ for m in model.modules()}:
        for attr, value in vars(importlib.import_module(name)).items():
            if attr.startswith("get_vision_") and getattr(value, "__module__", "") == "transformers.vision_utils":
                found.add((name, attr))
    return tuple(sorted(found))


def candidate_layouts(vision: Any) -> list[GridLayout]:
    """The fixed grid (1, 2m, 3m) with flattened patches, then with (C, P, P) patches."""
    patch = getattr(vision, "patch_size", None)
    if not isinstance(patch, int):
        return []
    merge = int(getattr(vision, "spatial_merge_size", None) or 1)
    channels = int(getattr(vision, "in_channels", None) or getattr(vision, "num_channels", None) or 3)
    temporal = int(getattr(vision, "temporal_patch_size", None) or 1)
    grid = (1, 2 * merge, 3 * merge)
    patches = grid[1] * grid[2]
    shapes = [(patches, channels * temporal * patch * patch), (patches, channels, patch, patch)]
    return [GridLayout(grid, shape, merge, patch) for shape in shapes]


def _grid_normalized(model: Any, token_attr: str, vision: VisionProbe, layout: GridLayout) -> type[NormalizedConfig]:
    base = _normalized(model, token_attr, vision)
    values = {"grid": layout.grid, "pixel_shape": layout.pixel_shape, "merge_size": layout.merge_size,
              "image_size": (layout.grid[1] * layout.patch_size, layout.grid[2] * layout.patch_size)}
    return type("DerivedNormalizedGridImageTextConfig", (base,),
                {"ATTRIBUTES": {**base.ATTRIBUTES, **dict.fromkeys(values, PROBED)},
                 "DEFAULTS": {**base.DEFAULTS, **values}, "__module__": __name__})


