"""Feeds for image and audio cells: real samples through the model's preprocessor, or dummies.

Real images are resized to the cell's height x width and run through the exported model's
image processor; real clips are resampled and normalised by its feature extractor, and the
clips closest to the cell's length are cropped or zero-padded to it (as text rows are
truncated or padded). Without data, pixels are uniform in the normalised range [-1, 1] and
audio is a seeded mix of tones and noise in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import BenchError, ShapeprofError
from ..modality import MEDIA_INPUTS
from .model_dir import ModelDir
from .media_sweep import AXES, MediaCell

if TYPE_CHECKING:
    from ..data.media import MediaSource
    from ..profile.media import MediaProfile

Feeds = dict[str, np.ndarray]
POOL = 256          # real samples drawn from the dataset (seeded), at most


def load_media_profile(profile: Any) -> MediaProfile | None:
    """A MediaProfile from the object, its JSON mapping or its path; None for a text profile."""
    import json

    from ..profile.media import MediaProfile

    if isinstance(profile, MediaProfile):
        return profile
    if isinstance(profile, (str, Path)):
        try:
            profile = json.loads(Path(profile).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise BenchError(f"cannot read the profile {str(profile)!r} ({e}); give a JSON file "
                             "written by 'shapeprof profile -o'") from e
    if isinstance(profile, Mapping) and profile.get("kind") == "media":
        return MediaProfile.from_dict(profile)
    return None


def check_media_profile(profile: MediaProfile, model: ModelDir, modality: str, processor: Any) -> None:
    """Refuse a profile of the other modality or one measured through another preprocessor."""
    if profile.modality != modality:
        raise BenchError(f"the profile describes {profile.modality} data but {str(model.path)!r} is an "
                         f"{modality} model; profile the dataset with this model")
    name = profile.model.get("processor_class")
    if processor is not None and name and name != type(processor).__name__:
        raise BenchError(f"the profile was measured through {name} but {str(model.path)!r} uses "
                         f"{type(processor).__name__}; re-profile the dataset with this model")


def model_processor(model: ModelDir, modality: str) -> Any:
    """The exported model's image processor / feature extractor, or None when it has none."""
    if not (model.path / "preprocessor_config.json").is_file():
        return None
    from ..profile.media import load_processor

    try:
        return load_processor(model.path, modality)
    except ShapeprofError as e:
        raise BenchError(f"{e}") from e


def open_samples(dataset: Any, profile: MediaProfile | None, modality: str) -> MediaSource | None:
    """Where real samples come from: ``dataset`` (a folder, a list of files, a ``datasets.Dataset``)
    if given, else the profile's recorded source."""
    from ..data.media import reopen_media, resolve_media

    if isinstance(dataset, (list, tuple)):
        return resolve_media(None, modality, data_files=dataset)
    if dataset is not None:
        return resolve_media(dataset, modality)
    if profile is None:
        return None
    return reopen_media({**profile.dataset, "modality": modality})


class MediaFeedFactory:
    """Builds each cell's feeds from real samples (``source == "data"``) or dummies."""

    def __init__(self, model: ModelDir, modality: str, samples: MediaSource | None = None,
                 processor: Any = None, seed: int = 0) -> None:
        if samples is not None and processor is None:
            raise BenchError(f"{str(model.path)!r} has no preprocessor_config.json, so real "
                             f"{modality} samples cannot be preprocessed; re-export from a model "
                             "directory with its processor, or benchmark without data")
        self.model, self.modality, self.samples, self.processor = model, modality, samples, processor
        self.seed = seed
        self._cache: dict[Any, np.ndarray] = {}
        self._pool: list[int] = []
        if samples is not None:
            from ..data.media import sample_indices

            self._pool = sample_indices(len(samples), POOL, seed)

    @property
    def source(self) -> str:
        return "data" if self.samples is not None else "random"

    def __call__(self, cell: MediaCell) -> Feeds:
        rng = np.random.default_rng(self.seed + cell.batch_size * 100_003 + cell.sequence_length)
        if self.samples is None:
            media = dummy_images(rng, cell, self._channels()) if self.modality == "image" else \
                dummy_audio(rng, cell)
        else:
            media = self._images(rng, cell) if self.modality == "image" else self._audio(cell)
        return complete_media_feeds(self.model, media, cell)

    # ---- real samples ---------------------------------------------------------------------
    def _images(self, rng: np.random.Generator, cell: MediaCell) -> np.ndarray:
        h, w = cell.sizes
        picks = rng.choice(self._pool, size=cell.batch_size, replace=cell.batch_size > len(self._pool))
        return np.stack([self._image(int(i), h, w) for i in picks])

    def _image(self, index: int, h: int, w: int) -> np.ndarray:
        key = (index, h, w)
        if key not in self._cache:
            from PIL import Image

            image = self._source().load(index).resize((w, h), Image.Resampling.BILINEAR)
            pixels = self.processor(images=[image], return_tensors="np")["pixel_values"][0]
            self._cache[key] = fit_image(pixels.astype(np.float32), h, w)
        return self._cache[key]

    def _audio(self, cell: MediaCell) -> np.ndarray:
        (length,) = cell.sizes
        clips = [self._clip(i) for i in self._pool]
        order = sorted(range(len(clips)), key=lambda k: (abs(len(clips[k]) - length), k))
        chosen = [order[k % len(order)] for k in range(cell.batch_size)]
        return np.stack([fit_audio(clips[k], length) for k in chosen])

    def _clip(self, index: int) -> np.ndarray:
        if index not in self._cache:
            from ..profile.media import _audio_sample

            feeds, _ = _audio_sample(self.processor, self._source().load(index))
            self._cache[index] = feeds["input_values"][0]
        return self._cache[index]

    def _source(self) -> MediaSource:
        assert self.samples is not None, "real samples are drawn only when there are some"
        return self.samples

    def _channels(self) -> int:
        return int(self.model.config.get("num_channels") or 3)


def dummy_images(rng: np.random.Generator, cell: MediaCell, channels: int = 3) -> np.ndarray:
    h, w = cell.sizes
    return rng.uniform(-1.0, 1.0, size=(cell.batch_size, channels, h, w)).astype(np.float32)


def dummy_audio(rng: np.random.Generator, cell: MediaCell, rate: int = 16_000) -> np.ndarray:
    """Two tones per clip (random pitches) plus a little noise, in [-1, 1]."""
    (length,) = cell.sizes
    t = np.arange(length) / rate
    pitch = rng.uniform(100, 1000, size=(cell.batch_size, 2, 1))
    wave = 0.3 * np.sin(2 * np.pi * pitch * t).sum(axis=1) + 0.05 * rng.standard_normal((cell.batch_size, length))
    return np.clip(wave, -1.0, 1.0).astype(np.float32)


def fit_image(pixels: np.ndarray, h: int, w: int) -> np.ndarray:
    """(C, H', W') -> (C, h, w) by nearest-neighbour sampling (a no-op when the sizes agree)."""
    if pixels.shape[1:] == (h, w):
        return pixels
    rows = np.arange(h) * pixels.shape[1] // h
    cols = np.arange(w) * pixels.shape[2] // w
    return np.ascontiguousarray(pixels[:, rows][:, :, cols])


def fit_audio(wave: np.ndarray, length: int) -> np.ndarray:
    """Crop the middle ``length`` samples, or zero-pad at the end."""
    if len(wave) >= length:
        start = (len(wave) - length) // 2
        return wave[start:start + length].astype(np.float32)
    return np.pad(wave, (0, length - len(wave))).astype(np.float32)


def complete_media_feeds(model: ModelDir, media: np.ndarray, cell: MediaCell) -> Feeds:
    """The media input plus any other input as ones (masks), shaped by its axes."""
    modality = "image" if media.ndim == 4 else "audio"
    sizes = {"batch_size": cell.batch_size, **dict(zip(AXES[modality], cell.sizes))}
    out: Feeds = {}
    for name, axes in model.inputs.items():
        if MEDIA_INPUTS.get(name) == modality:
            out[name] = np.ascontiguousarray(media, dtype=np.float32)
            continue
        unknown = [a for a in axes.values() if a not in sizes]
        if unknown:
            raise BenchError(f"input {name!r} has axis {unknown[0]!r}; the {modality} benchmark "
                             f"knows {', '.join(sizes)} only")
        out[name] = np.ones([sizes[axes[i]] for i in sorted(axes)], dtype=np.int64)
    return out
