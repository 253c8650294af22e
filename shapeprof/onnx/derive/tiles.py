"""Tiled images (LLaVA-NeXT, LLaVA-OneVision, ...): the image processor cuts each image into
tiles at the grid resolution closest to its size (``config.image_grid_pinpoints``) plus one
overview, and the model takes ``pixel_values`` of shape ``(batch, tiles, C, H, W)`` with
``image_sizes``. The number of tiles follows from the image size, so with the image sides static
it is static too; the model's own ``image_size_to_num_patches`` gives it.
"""

from __future__ import annotations

import importlib
from typing import Any


def tile_count(model: Any, height: int, width: int) -> int | None:
    """Tiles per image of ``height`` x ``width`` (the overview included), or None for a model
    that does not tile its images."""
    config = model.config
    pinpoints = getattr(config, "image_grid_pinpoints", None)
    count = getattr(importlib.import_module(type(model).__module__), "image_size_to_num_patches", None)
    tile = getattr(getattr(config, "vision_config", None), "image_size", None)
    if not pinpoints or count is None or not isinstance(tile, int):
        return None
    return int(count(image_size=(height, width), grid_pinpoints=[list(p) for p in pinpoints], patch_size=tile))
