"""Prompts and special tokens shared by the decoder and encoder-decoder generators."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def prompts(lengths: Sequence[int], cfg: Any, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random prompts of the given lengths, left-padded with the pad id."""
    normalized = cfg._normalized_config
    vocab = int(normalized.vocab_size)
    rng = np.random.default_rng(seed)
    width = max(lengths)
    ids = np.full((len(lengths), width), pad_id(cfg._config), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, width - n:] = rng.integers(3, vocab, size=n)
        mask[row, width - n:] = 1
    return ids, mask


def eos_ids(config: Any) -> list[int]:
    eos = getattr(config, "eos_token_id", None)
    return [] if eos is None else list(eos) if isinstance(eos, (list, tuple)) else [int(eos)]


def pad_id(config: Any) -> int:
    pad = getattr(config, "pad_token_id", None)
    if pad is None:
        eos = eos_ids(config)
        pad = eos[0] if eos else 0
    return int(pad)
