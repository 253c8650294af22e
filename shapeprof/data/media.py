"""Image and audio samples for profiling: a folder, a list of files, or a ``datasets.Dataset``.

Each sample is decoded lazily: images with Pillow (RGB), wav files with the standard
library's ``wave`` module (16-bit or 32-bit PCM, mixed down to mono, floats in [-1, 1]).
A Hugging Face dataset is read from its first ``Image`` or ``Audio`` column without
its own decoder (``decode=False``), so no extra audio backend is needed.
"""

from __future__ import annotations

import dataclasses
import io
import wave
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
AUDIO_SUFFIXES = (".wav",)
SUFFIXES = {"image": IMAGE_SUFFIXES, "audio": AUDIO_SUFFIXES}


@dataclass(frozen=True)
class MediaSource:
    """Where samples come from, and how to decode sample ``i``."""

    description: str
    kind: str                      # "folder", "files" or "hub"
    modality: str                  # "image" or "audio"
    names: tuple[str, ...]         # one per sample (file name or row index)
    _load: Callable[[int], Any]
    location: Mapping[str, Any] = field(default_factory=dict)  # how to reopen it (empty: in memory)

    def __len__(self) -> int:
        return len(self.names)

    def load(self, index: int) -> Any:
        """A PIL image, or ``(waveform float32 mono, sampling_rate)``."""
        try:
            return self._load(index)
        except DataError:
            raise
        except Exception as e:  # decoder errors come in many types
            raise DataError(f"cannot decode {self.modality} {self.names[index]!r}: {e}; "
                            "remove or convert that file") from e

    def to_dict(self) -> dict[str, Any]:
        return {"description": self.description, "kind": self.kind, "modality": self.modality,
                "samples_total": len(self.names), "location": dict(self.location)}


def open_image(data: str | Path | bytes) -> Any:
    try:
        from PIL import Image
    except ImportError as e:
        raise DataError("profiling images needs Pillow; install it with `pip install pillow`") from e
    image = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
    return image.convert("RGB")


def read_wav(data: str | Path | bytes) -> tuple[np.ndarray, int]:
    """Mono float32 samples in [-1, 1] and the sampling rate of a PCM wav file."""
    with wave.open(io.BytesIO(data) if isinstance(data, bytes) else str(data), "rb") as f:
        width, channels, rate = f.getsampwidth(), f.getnchannels(), f.getframerate()
        raw = f.readframes(f.getnframes())
    dtypes = {1: np.uint8, 2: np.int16, 4: np.int32}
    if width not in dtypes:
        raise DataError(f"wav sample width of {8 * width} bits is not supported; use 8, 16 or 32-bit PCM")
    samples = np.frombuffer(raw, dtype=dtypes[width]).astype(np.float32)
    if width == 1:
        samples = samples - 128.0
    samples /= float(2 ** (8 * width - 1))
    return samples.reshape(-1, channels).mean(axis=1), rate


def _decoder(modality: str) -> Callable[[Any], Any]:
    return open_image if modality == "image" else read_wav


def media_files(paths: Sequence[str | Path], modality: str) -> MediaSource:
    """Explicit files (in the given order)."""
    files = [Path(p) for p in paths]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise DataError(f"{modality} file(s) not found: {', '.join(missing[:3])}; check the paths")
    decode = _decoder(modality)
    return MediaSource(f"{len(files)} {modality} file(s)", "files", modality,
                       tuple(str(p) for p in files), lambda i: decode(files[i]),
                       {"files": [str(p.resolve()) for p in files]})


def media_folder(folder: str | Path, modality: str) -> MediaSource:
    """Every image (or wav) file under ``folder``, recursively, sorted by path."""
    root = Path(folder)
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES[modality] and p.is_file())
    if not files:
        raise DataError(f"no {modality} files ({', '.join(SUFFIXES[modality])}) under {str(root)!r}; "
                        f"point --dataset at a folder of {modality} files")
    source = media_files(files, modality)
    return MediaSource(f"folder {root} ({len(files)} {modality} files)", "folder", modality,
                       source.names, source._load, {"folder": str(root.resolve())})


def media_dataset(dataset: Any, modality: str, description: str = "in-memory dataset",
                  column: str | None = None) -> MediaSource:
    """A ``datasets.Dataset`` with an ``Image`` or ``Audio`` column (the first, or ``column``)."""
    import datasets

    feature_type = datasets.Image if modality == "image" else datasets.Audio
    candidates = [name for name, f in dataset.features.items() if isinstance(f, feature_type)]
    name = column or (candidates[0] if candidates else None)
    if name is None or name not in dataset.features:
        raise DataError(f"{description} has no {feature_type.__name__} column "
                        f"(columns: {', '.join(dataset.features)}); cast one with "
                        f"dataset.cast_column(name, datasets.{feature_type.__name__}())")
    raw = dataset.cast_column(name, feature_type(decode=False))
    decode = _decoder(modality)

    def load(i: int) -> Any:
        cell = raw[i][name]
        return decode(cell["bytes"] if cell.get("bytes") else cell["path"])

    return MediaSource(f"{description}, column {name!r}", "hub", modality,
                       tuple(str(i) for i in range(len(raw))), load)


def resolve_media(dataset: Any, modality: str, *, data_files: Sequence[str | Path] | None = None,
                  split: str | None = None) -> MediaSource:
    """A folder, explicit files, a ``datasets.Dataset``, or a Hub dataset id (``id`` or ``id:config``)."""
    if data_files:
        return media_files(data_files, modality)
    if not isinstance(dataset, (str, Path)):
        return media_dataset(dataset, modality)
    path = Path(dataset).expanduser()
    if path.is_dir():
        return media_folder(path, modality)
    if path.is_file():
        return media_files([path], modality)
    return _hub(str(dataset), modality, split)


def _hub(name: str, modality: str, split: str | None) -> MediaSource:
    import datasets

    repo, _, config = name.partition(":")
    try:
        ds = datasets.load_dataset(repo, config or None, split=split or "train")
    except Exception as e:  # offline, unknown id, bad split: many types
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"cannot load {modality} dataset {name!r}: {first}; give a local folder, "
                        "--data-files, or a cached Hub dataset") from e
    source = media_dataset(ds, modality, f"Hub dataset {name} ({split or 'train'})")
    return dataclasses.replace(source, location={"hub": name, "split": split or "train"})


def reopen_media(dataset: Mapping[str, Any]) -> MediaSource | None:
    """The source a profile's ``dataset`` record came from; None for an in-memory dataset."""
    where, modality = dict(dataset.get("location") or {}), str(dataset.get("modality", "image"))
    if "folder" in where:
        return media_folder(where["folder"], modality)
    if "files" in where:
        return media_files(where["files"], modality)
    if "hub" in where:
        return _hub(where["hub"], modality, where.get("split"))
    return None


def sample_indices(total: int, rows: int | None, seed: int) -> list[int]:
    """All indices, or a seeded random subset of ``rows`` of them (sorted)."""
    if rows is None or rows >= total:
        return list(range(total))
    return sorted(int(i) for i in np.random.default_rng(seed).choice(total, size=rows, replace=False))


def iterate(source: MediaSource, indices: Sequence[int]) -> Iterator[tuple[int, Any]]:
    for i in indices:
        yield i, source.load(i)
