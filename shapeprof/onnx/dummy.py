"""Dummy input generators, chosen by input name.

Generators return numpy arrays from a seeded generator; the config converts
them to the requested framework. Token ids stay inside the vocabulary, masks
hold both 0 and 1 whenever the shape allows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from .normalized import NormalizedConfig

# The seed's defaults for generate_dummy_inputs(**kwargs).
DEFAULT_DUMMY_SHAPES: dict[str, int] = {
    "batch_size": 2,
    "sequence_length": 16,
    "num_choices": 4,
    "image_width": 224,
    "image_height": 224,
    "num_channels": 3,
    "feature_size": 80,
    "nb_max_frames": 3000,
    "audio_sequence_length": 16000,
}


def padded_mask(shape: tuple[int, ...]) -> np.ndarray:
    """An int64 mask of ones whose last row ends in padding (zeros).

    The padded row keeps at least one real token, so it holds both 0 and 1
    whenever the last axis has two or more positions.
    """
    mask = np.ones(shape, dtype=np.int64)
    length = shape[-1]
    if length >= 2:
        pad = max(1, length // 4)
        mask.reshape(-1, length)[-1, length - pad :] = 0
    return mask


class DummyInputGenerator:
    """Base class: generates the inputs named in ``SUPPORTED_INPUT_NAMES``."""

    SUPPORTED_INPUT_NAMES: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self, task: str, normalized_config: NormalizedConfig, shapes: Mapping[str, int], seed: int = 0
    ) -> None:
        self.task = task
        self.normalized_config = normalized_config
        self.shapes = {**DEFAULT_DUMMY_SHAPES, **shapes}
        self.rng = np.random.default_rng(seed)

    def supports(self, input_name: str) -> bool:
        return input_name in self.SUPPORTED_INPUT_NAMES

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        raise NotImplementedError

    def shape_for(self, axes: Mapping[int, str], rank: int, static: Mapping[int, int]) -> tuple[int, ...]:
        """Concrete shape: named axes from ``self.shapes``, others from ``static``."""
        return tuple(self.shapes[axes[i]] if i in axes else static[i] for i in range(rank))


class DummyTextInputGenerator(DummyInputGenerator):
    SUPPORTED_INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids", "position_ids",
                             "decoder_input_ids")

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        shape = tuple(self.shapes[axes[i]] for i in range(len(axes)))
        cfg = self.normalized_config
        if input_name in ("input_ids", "decoder_input_ids"):
            low = 3 if cfg.vocab_size > 8 else 0  # stay clear of special ids where we can
            return self.rng.integers(low, cfg.vocab_size, size=shape, dtype=np.int64)
        if input_name == "attention_mask":
            return padded_mask(shape)
        if input_name == "token_type_ids":
            types = max(1, int(cfg.get("type_vocab_size") or 1))
            return self.rng.integers(0, types, size=shape, dtype=np.int64)
        positions = np.arange(shape[-1], dtype=np.int64)
        return np.broadcast_to(positions, shape).copy()


class DummyVisionInputGenerator(DummyInputGenerator):
    SUPPORTED_INPUT_NAMES = ("pixel_values", "pixel_mask")

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        s = self.shapes
        if input_name == "pixel_mask":
            return np.ones((s["batch_size"], s["image_height"], s["image_width"]), dtype=np.int64)
        shape = (s["batch_size"], s["num_channels"], s["image_height"], s["image_width"])
        return self.rng.standard_normal(shape, dtype=np.float32)


class DummyAudioInputGenerator(DummyInputGenerator):
    SUPPORTED_INPUT_NAMES = ("input_values", "input_features")

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        s = self.shapes
        if input_name == "input_values":
            shape: tuple[int, ...] = (s["batch_size"], s["audio_sequence_length"])
        else:
            shape = (s["batch_size"], s["feature_size"], s["nb_max_frames"])
        return self.rng.standard_normal(shape, dtype=np.float32)


def to_framework(arrays: Mapping[str, np.ndarray], framework: str) -> dict[str, Any]:
    """Convert numpy arrays to ``"pt"`` tensors or keep them as ``"np"``."""
    if framework == "np":
        return dict(arrays)
    if framework == "pt":
        import torch

        return {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in arrays.items()}
    from ..errors import ConfigError

    raise ConfigError(f"unknown framework {framework!r}; use 'pt' (PyTorch) or 'np' (numpy)")
