"""SigLIP 2 (NaFlex): images come as padded sequences of flattened patches with their grid shape.

``pixel_values`` is (images, patches, channels x patch x patch), ``pixel_attention_mask``
marks the real patches and ``spatial_shapes`` gives each image's (rows, columns) of
patches; the position embeddings are resized to every grid inside the graph. So the
patch count is a dynamic axis, and images of different aspect ratios share a batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..base import PatchingSpec
from ..dummy import DummyInputGenerator
from ..multimodal import TextAndVisionOnnxConfig, _batches, _TextGenerator, _TextPart, _VisionPart

PATCHES = "num_patches"


def grid(patches: int) -> tuple[int, int]:
    """The squarest (rows, columns) with rows x columns == patches."""
    rows = max(r for r in range(1, int(patches ** 0.5) + 1) if patches % r == 0)
    return rows, patches // rows


class DummyPatchInputGenerator(DummyInputGenerator):
    """Patches, mask and grid shapes: the first image fills every patch, the others about half."""

    SUPPORTED_INPUT_NAMES = ("pixel_values", "pixel_attention_mask", "spatial_shapes")

    def __init__(self, task: str, normalized_config, shapes: Mapping[str, int], seed: int = 0) -> None:
        super().__init__(task, _VisionPart(normalized_config.config), _batches(shapes), seed + 1)

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        images, patches = self.shapes["image_batch_size"], self.shapes[PATCHES]
        rows, cols = grid(patches)
        shapes = np.array([(rows, cols)] + [(max(1, rows // 2), cols)] * (images - 1), dtype=np.int64)
        if input_name == "spatial_shapes":
            return shapes
        if input_name == "pixel_attention_mask":
            return (np.arange(patches)[None, :] < shapes.prod(-1)[:, None]).astype(np.int64)
        cfg = self.normalized_config
        width = int(cfg.num_channels) * int(cfg.patch_size) ** 2
        return self.rng.standard_normal((images, patches, width), dtype=np.float32)


def _no_check(*args: Any, **kwargs: Any) -> None:
    return None


class PatchSequenceTextAndVisionOnnxConfig(TextAndVisionOnnxConfig):
    """Text-and-image models taking images as patch sequences (SigLIP 2)."""

    DUMMY_INPUT_GENERATOR_CLASSES = (_TextGenerator, DummyPatchInputGenerator)
    STATIC_AXES = ()
    TEXT_INPUTS = ("input_ids",)

    def __init__(self, config: Any, task: str = "default", patching_specs: list[PatchingSpec] | None = None) -> None:
        super().__init__(config, task, patching_specs)
        # Its input checks (all grid sizes positive, ...) trace to aten._is_all_true, which has no
        # ONNX function: skipped while exporting, as an ONNX graph asserts nothing anyway.
        from transformers.models.siglip2 import modeling_siglip2

        self.patching_specs.append(PatchingSpec(modeling_siglip2, "torch_compilable_check", _no_check))

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        spec = {name: {0: "text_batch_size", 1: "sequence_length"} for name in self.TEXT_INPUTS}
        spec["pixel_values"] = {0: "image_batch_size", 1: PATCHES}
        spec["pixel_attention_mask"] = {0: "image_batch_size", 1: PATCHES}
        spec["spatial_shapes"] = {0: "image_batch_size"}
        return spec

    def default_axis_sizes(self) -> dict[str, int]:
        return {"text_batch_size": 2, "image_batch_size": 3, PATCHES: int(_VisionPart(self._config).num_patches)}

    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        bounds = {name: (1, None) for name in self.axis_names()}
        bounds[PATCHES] = (2, None)
        limit = _TextPart(self._config).get("max_position_embeddings")
        if limit:
            bounds["sequence_length"] = (1, int(limit))
        return bounds

    def large_shape(self, trace: Mapping[str, int]) -> dict[str, int]:
        """More texts than images at the longest text, four times the patches (the smallest shape
        has one text and an image of two patches)."""
        return {**super().large_shape(trace), "num_patches": 4 * trace[PATCHES]}
