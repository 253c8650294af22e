"""Text-and-image pairs (captions with images) for profiling CLIP-style models.

Accepted: a ``datasets.Dataset`` with an ``Image`` column and a text column; a csv, tsv,
json/jsonl or parquet file (or ``data_files``) with a column of image paths (relative to
the file's folder) and a text column; a folder in Hugging Face's ``imagefolder`` layout
(images plus a ``metadata.csv``/``metadata.jsonl`` with ``file_name`` and a text column); or
a Hub dataset id. Columns are inferred unless named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DataError
from .media import IMAGE_SUFFIXES, MediaSource, open_image

FILE_FORMATS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}


@dataclass(frozen=True)
class PairSource:
    """Row ``i`` is ``texts[i]`` with image ``images.load(i)``."""

    description: str
    text_column: str
    image_column: str
    texts: tuple[str, ...]
    images: MediaSource
    location: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    def to_dict(self) -> dict[str, Any]:
        return {"description": self.description, "kind": self.images.kind, "modality": "text+image",
                "samples_total": len(self), "text_column": self.text_column,
                "image_column": self.image_column, "location": dict(self.location)}


def resolve_pairs(dataset: Any, *, data_files: Sequence[str | Path] | None = None,
                  split: str | None = None, text_column: str | None = None,
                  image_column: str | None = None) -> PairSource:
    """Open ``dataset`` as text-image pairs (see the module docstring for the forms)."""
    if data_files:
        files = [Path(f) for f in data_files]
        return _pairs(_load_files(files), f"{len(files)} file(s)", files[0].parent, text_column,
                      image_column, {"files": [str(f.resolve()) for f in files]})
    if not isinstance(dataset, (str, Path)):
        return _pairs(dataset, "in-memory dataset", None, text_column, image_column, {})
    path = Path(dataset).expanduser()
    if path.is_file():
        return _pairs(_load_files([path]), f"file {path}", path.parent, text_column, image_column,
                      {"files": [str(path.resolve())]})
    if path.is_dir():
        ds = _load("imagefolder", data_dir=str(path), split="train")
        return _pairs(ds, f"folder {path}", path, text_column, image_column, {"folder": str(path.resolve())})
    name, _, config = str(dataset).partition(":")
    ds = _load(name, config or None, split=split or "train")
    return _pairs(ds, f"Hub dataset {dataset} ({split or 'train'})", None, text_column, image_column,
                  {"hub": str(dataset), "split": split or "train"})


def _load_files(files: list[Path]) -> Any:
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise DataError(f"file(s) not found: {', '.join(missing[:3])}; check the paths")
    kinds = {FILE_FORMATS.get(f.suffix.lower()) for f in files}
    if len(kinds) != 1 or None in kinds:
        raise DataError(f"text-image pairs are read from csv, tsv, json/jsonl or parquet files of one "
                        f"format; got {', '.join(sorted(f.suffix for f in files))}")
    options = {"delimiter": "\t"} if files[0].suffix.lower() == ".tsv" else {}
    return _load(kinds.pop(), data_files=[str(f) for f in files], split="train", **options)


def _load(*args: Any, **kwargs: Any) -> Any:
    import datasets

    try:
        return datasets.load_dataset(*args, **kwargs)
    except Exception as e:  # offline, unknown id, parse errors: many types
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise DataError(f"cannot load the text-image dataset ({first}); give a csv/json/parquet file "
                        "with an image-path column and a text column, or an imagefolder with "
                        "metadata.csv") from e


def _pairs(ds: Any, description: str, root: Path | None, text_column: str | None,
           image_column: str | None, location: dict[str, Any]) -> PairSource:
    image = image_column or _image_column(ds, description)
    text = text_column or _text_column(ds, image, description)
    for name in (image, text):
        if name not in ds.column_names:
            raise DataError(f"{description} has no column {name!r} (columns: {', '.join(ds.column_names)})")
    if len(ds) == 0:
        raise DataError(f"{description} has no rows; give a non-empty dataset")
    texts = tuple(str(t) for t in ds[text])
    source = MediaSource(f"{description}, column {image!r}", location and next(iter(location)) or "memory",
                         "image", tuple(str(i) for i in range(len(ds))), _image_loader(ds, image, root),
                         location)
    return PairSource(f"{description}, columns {text!r} + {image!r}", text, image, texts, source, location)


def _image_column(ds: Any, where: str) -> str:
    import datasets

    for name, feature in ds.features.items():
        if isinstance(feature, datasets.Image):
            return name
    first = ds[0] if len(ds) else {}
    for name in ds.column_names:
        value = first.get(name)
        if isinstance(value, str) and Path(value).suffix.lower() in IMAGE_SUFFIXES:
            return name
    raise DataError(f"{where} has no image column (an Image feature or paths ending in an image "
                    f"suffix); columns: {', '.join(ds.column_names)}")


def _text_column(ds: Any, image: str, where: str) -> str:
    import datasets

    for name, feature in ds.features.items():
        if name != image and isinstance(feature, datasets.Value) and feature.dtype in ("string", "large_string"):
            return name
    raise DataError(f"{where} has no text column besides {image!r}; columns: {', '.join(ds.column_names)}")


def _image_loader(ds: Any, column: str, root: Path | None) -> Any:
    import datasets

    if isinstance(ds.features[column], datasets.Image):
        raw = ds.cast_column(column, datasets.Image(decode=False))

        def load_cell(i: int) -> Any:
            cell = raw[i][column]
            return open_image(cell["bytes"] if cell.get("bytes") else cell["path"])

        return load_cell
    paths = [Path(p) if Path(p).is_absolute() or root is None else root / p for p in ds[column]]
    return lambda i: open_image(paths[i])
