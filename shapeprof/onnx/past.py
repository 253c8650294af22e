"""Past key/values: dummy caches, and the flat-tensor <-> transformers ``Cache`` round trip.

ONNX takes and returns the cache as flat tensors ``past_key_values.{i}.key`` /
``.value`` of shape (batch, key/value heads, past length, head dim); transformers
5 wants a ``DynamicCache``. Grouped-query attention shows in the head count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .dummy import DummyInputGenerator, padded_mask

PAST_PREFIX = "past_key_values."
PRESENT_PREFIX = "present."


def kv_shape(normalized: Any) -> tuple[int, int]:
    """(key/value heads, head dim) from a normalized config."""
    heads = int(normalized.num_attention_heads)
    kv_heads = int(normalized.get("num_key_value_heads") or heads)
    head_dim = normalized.get("head_dim") or int(normalized.hidden_size) // heads
    return kv_heads, int(head_dim)


def past_shape(normalized: Any, name: str) -> tuple[int, int]:
    """(heads, head dim) of the cache tensor ``name`` (``past_key_values.{i}.key``, ``present.{i}.value``):
    per layer and kind when the normalized config has ``cache_shapes`` (keys wider than values in
    latent attention, layers of different sizes), else ``kv_shape``."""
    layers = normalized.get("cache_shapes")
    if not layers:
        return kv_shape(normalized)
    layer, kind = name.rsplit(".", 2)[-2:]
    heads, size = layers[int(layer)][kind == "value"]
    return int(heads), int(size)


def decoder_mask(batch: int, past: int, new: int) -> np.ndarray:
    """A mask over past + new tokens holding padding but no fully masked query row.

    With a cache the first row is left-padded inside the past, as batched generation pads
    prompts. Without one, left padding would leave padded queries attending to nothing
    (outputs there are arbitrary and differ between attention kernels), so the last row
    is right-padded instead.
    """
    if past == 0:
        return padded_mask((batch, new))
    mask = np.ones((batch, past + new), dtype=np.int64)
    mask[0, :min(past, max(1, (past + new) // 4))] = 0
    return mask


def past_from_present(outputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A step's ``present.*`` outputs as the next step's ``past_key_values.*`` feeds."""
    return {PAST_PREFIX + n[len(PRESENT_PREFIX):]: v for n, v in outputs.items() if n.startswith(PRESENT_PREFIX)}


def position_ids(mask: np.ndarray, length: int) -> np.ndarray:
    """Positions of the last ``length`` tokens as ``generate`` computes them from the mask."""
    positions = np.cumsum(mask, axis=-1) - 1
    positions[mask == 0] = 1
    return positions[:, -length:].astype(np.int64)


class DummyDecoderInputGenerator(DummyInputGenerator):
    """input_ids, a left-padded mask over past + new tokens, matching position ids, the cache."""

    SUPPORTED_INPUT_NAMES = ("input_ids", "attention_mask", "position_ids")

    def supports(self, input_name: str) -> bool:
        return input_name in self.SUPPORTED_INPUT_NAMES or input_name.startswith(PAST_PREFIX)

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        s, cfg = self.shapes, self.normalized_config
        batch, seq = s["batch_size"], s["sequence_length"]
        past = s.get("past_sequence_length", 0)
        if input_name == "input_ids":
            return self.rng.integers(0, cfg.vocab_size, size=(batch, seq), dtype=np.int64)
        mask = decoder_mask(batch, past, seq)
        if input_name == "attention_mask":
            return mask
        if input_name == "position_ids":
            return position_ids(mask, seq)
        kv_heads, head_dim = past_shape(cfg, input_name)
        return self.rng.standard_normal((batch, kv_heads, past, head_dim), dtype=np.float32)


def cache_from_flat(config: Any, tensors: Sequence[Any]) -> Any:
    """A ``DynamicCache`` holding (key, value) pairs given flat in layer order.

    Sliding-window layers keep every position, like full ones: ``present.*`` is then always
    past + new tokens long, and the model's sliding-window mask hides what lies outside
    the window (transformers' own sliding cache drops it instead; the outputs are the same).
    """
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    cache = DynamicCache(config=config)
    cache.layers = [DynamicLayer() if getattr(layer, "is_sliding", False) else layer for layer in cache.layers]
    for layer in range(len(tensors) // 2):
        cache.update(tensors[2 * layer], tensors[2 * layer + 1], layer)
    return cache


def flat_from_cache(cache: Any) -> list[Any]:
    """The cache's keys and values, flat in layer order."""
    flat = []
    for layer in cache.layers:
        flat += [layer.keys, layer.values]
    return flat
