"""Profiles of text-and-image pairs for CLIP-style models: caption lengths and image sizes.

Captions go through the model's tokenizer (natural lengths, truncated at the text tower's
position limit) and images through its image processor, so the profile gives
``sequence_length`` and the processed ``height``/``width`` (constant when the processor
resizes, as CLIP's does), plus the source image sizes. The result is a
:class:`~shapeprof.profile.media.MediaProfile` of modality ``"text+image"``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..console import say
from ..errors import ProfileError
from .media import IMAGE_AXES, VERIFY_SAMPLES, MediaProfile, _image_sample, load_processor
from .stats import axis_stats
from .uncertainty import axes_uncertainty

MODALITY = "text+image"


def text_limit(model: str | Path) -> int | None:
    """The text tower's position limit (``text_config.max_position_embeddings``)."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(str(model))
    except Exception:  # a processor-only directory: no limit known
        return None
    text = getattr(config, "text_config", config)
    limit = getattr(text, "max_position_embeddings", None)
    return int(limit) if limit else None


def profile_text_image(model: str | Path, dataset: Any, *,
                       data_files: Sequence[str | Path] | None = None, split: str | None = None,
                       text_column: str | None = None, image_column: str | None = None,
                       rows: int | None = None, seed: int = 0,
                       batch_sizes: Sequence[int] = (1, 8, 32), progress: bool = True) -> MediaProfile:
    """Tokenize the captions and preprocess the images of a seeded sample of pairs."""
    from ..data.media import sample_indices
    from ..data.pairs import resolve_pairs
    from ..data.rows import TextRows
    from .tokenize import LengthCounter, load_tokenizer

    if rows is not None and rows < 1:
        raise ProfileError(f"rows must be a positive number or omitted for all rows, not {rows}")
    if not batch_sizes or any(int(b) < 1 for b in batch_sizes):
        raise ProfileError(f"batch sizes must be positive integers, not {list(batch_sizes)}")
    pairs = resolve_pairs(dataset, data_files=data_files, split=split, text_column=text_column,
                          image_column=image_column)
    tokenizer, info = load_tokenizer(model)
    processor = load_processor(model, "image")
    indices = sample_indices(len(pairs), rows, seed)
    natural = LengthCounter(tokenizer)(TextRows.from_inputs([pairs.texts[i] for i in indices]))
    limit = text_limit(model)
    lengths = np.minimum(natural, limit) if limit else natural
    sizes, raw, samples = _images(pairs, processor, indices, progress)
    truncated = int((natural > lengths).sum())
    axes = {"sequence_length": axis_stats("sequence_length", Counter(lengths.tolist()), truncated,
                                          int(natural.max()))}
    axes.update({a: axis_stats(a, c) for a, c in sizes.items()})
    dataset_info = {**pairs.to_dict(), "rows_sampled": len(indices), "rows_requested": rows, "seed": seed}
    model_info = {"name_or_path": str(model), "model_type": info.model_type,
                  "tokenizer_class": info.tokenizer_class, "max_length": limit,
                  "processor_class": type(processor).__name__}
    counts = {"sequence_length": Counter(lengths.tolist()), **sizes, **raw}
    return MediaProfile(MODALITY, dataset_info, model_info, tuple(sorted({int(b) for b in batch_sizes})),
                        axes, {a: axis_stats(a, c) for a, c in raw.items()},
                        uncertainty=axes_uncertainty(counts, len(pairs)), samples=tuple(samples))


def _images(pairs: Any, processor: Any, indices: Sequence[int],
            progress: bool) -> tuple[dict[str, Counter[int]], dict[str, Counter[int]], list[dict[str, Any]]]:
    """Processed and source image sizes, and the first few processed samples."""
    sizes: dict[str, Counter[int]] = {a: Counter() for a in IMAGE_AXES}
    raw: dict[str, Counter[int]] = {"source_height": Counter(), "source_width": Counter()}
    samples: list[dict[str, Any]] = []
    for n, i in enumerate(indices, start=1):
        feeds, (h, w) = _image_sample(processor, pairs.images.load(i))
        for axis, value in zip(IMAGE_AXES, feeds["pixel_values"].shape[2:]):
            sizes[axis][int(value)] += 1
        raw["source_height"][h] += 1
        raw["source_width"][w] += 1
        if len(samples) < VERIFY_SAMPLES:
            samples.append(feeds)
        say(progress and (n % 50 == 0 or n == len(indices)), f"preprocessed {n}/{len(indices)} text-image pairs")
    return sizes, raw, samples
