"""Dataset resolution: a name plus options -> a ``DatasetSpec`` and a table reader.

Rules, first match wins:

* ``data_files`` given: local files (csv, tsv, json/jsonl, parquet; one format). ``dataset`` may
  name the format (``csv``...) or a GLUE task (``glue/mrpc``: GLUE quirks and column names);
  the default ``glue`` is ignored.
* ``glue`` (task SST-2) or ``glue/<task>``: from ``data_dir`` or ``$SHAPEPROF_DATA_DIR`` in GLUE
  layout when either is set, else ``datasets.load_dataset("glue", task)``.
* an existing file path: that local file.
* anything else: a Hub dataset id (``owner/name``, optionally ``owner/name:config``).

GLUE's default split is ``validation`` (``dev.tsv``; MNLI: ``dev_matched.tsv``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DataError
from .columns import choose_text_columns, parse_columns
from .glue import GlueTask, glue_file, glue_task
from .hub import HubDataset
from .readers import FileFormat, LocalFiles, format_for
from .shards import expand_shards

DATA_DIR_ENV = "SHAPEPROF_DATA_DIR"
FORMAT_NAMES = {"csv", "tsv", "json", "jsonl", "parquet"}
GLUE_HINT = (f"set {DATA_DIR_ENV} or pass --data-dir to a folder with the GLUE files "
             "in GLUE layout (e.g. SST-2/dev.tsv)")

PathsArg = str | Path | Sequence[str | Path] | Mapping[str, str | Path | Sequence[str | Path]]


@dataclass(frozen=True)
class DatasetSpec:
    """Where the texts come from; enough to load them again."""

    name: str                                # "glue/sst2", a Hub id, or "files"
    kind: str                                # "files" or "hub"
    split: str | None = None
    task: str | None = None                  # GLUE task, if any
    files: tuple[str, ...] = ()
    data_dir: str | None = None
    format: str | None = None
    text_columns: tuple[str, ...] = ()
    hub_config: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "split": self.split, "task": self.task,
                "files": list(self.files), "data_dir": self.data_dir, "format": self.format,
                "text_columns": list(self.text_columns), "hub_config": self.hub_config}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetSpec:
        return cls(name=data["name"], kind=data["kind"], split=data.get("split"),
                   task=data.get("task"), files=tuple(data.get("files") or ()),
                   data_dir=data.get("data_dir"), format=data.get("format"),
                   text_columns=tuple(data.get("text_columns") or ()),
                   hub_config=data.get("hub_config"))


@dataclass
class ResolvedDataset:
    """A spec with its open reader (LocalFiles or HubDataset)."""

    spec: DatasetSpec
    reader: Any = field(repr=False)


def resolve_dataset(dataset: str | Path = "glue", *, data_dir: str | Path | None = None,
                    data_files: PathsArg | None = None, split: str | None = None,
                    text_columns: str | Sequence[str] | None = None,
                    streaming: bool = False) -> ResolvedDataset:
    """Resolve a dataset name and options to a reader with validated text columns."""
    ds = open_dataset(dataset, data_dir=data_dir, data_files=data_files, split=split, streaming=streaming)
    return with_text_columns(ds, dataset, data_files, text_columns)


def with_text_columns(ds: ResolvedDataset, dataset: str | Path, data_files: PathsArg | None,
                      text_columns: str | Sequence[str] | None) -> ResolvedDataset:
    """``ds`` (opened by ``open_dataset(dataset, data_files=...)``) with its text columns
    validated, or inferred."""
    task = _task_for(str(dataset or "glue"), data_files)
    default = task.text_columns if task else None
    chosen = choose_text_columns(ds.reader.schema(), parse_columns(text_columns) or default,
                                 f"dataset {ds.spec.name!r} ({ds.reader.description})")
    return ResolvedDataset(DatasetSpec(**{**ds.spec.__dict__, "text_columns": chosen}), ds.reader)


def open_dataset(dataset: str | Path = "glue", *, data_dir: str | Path | None = None,
                 data_files: PathsArg | None = None, split: str | None = None,
                 streaming: bool = False) -> ResolvedDataset:
    """Resolve a dataset to its reader without choosing text columns (chat records, whose
    columns are checked by :mod:`shapeprof.data.chat`)."""
    name = str(dataset or "glue")
    task = _task_for(name, data_files)
    if data_files is not None:
        spec, reader = _local_files(name, task, data_files, split)
    elif task is not None:
        spec, reader = _glue(task, data_dir, split, streaming)
    elif Path(name).is_file():
        spec, reader = _local_files("files", None, name, split)
    else:
        spec, reader = _hub(name, split, streaming)
    return ResolvedDataset(DatasetSpec(**{**spec.__dict__, "split": getattr(reader, "split", spec.split)}),
                           reader)


def _task_for(name: str, data_files: PathsArg | None) -> Any:
    """The GLUE task a dataset name means; none for plain files under the default name."""
    return None if data_files is not None and name.lower() == "glue" else _glue_task_of(name)


def reopen(spec: DatasetSpec, streaming: bool = False) -> ResolvedDataset:
    """Open the dataset a spec describes again (e.g. from a saved profile)."""
    files = list(spec.files) if spec.kind == "files" else None
    name = spec.name if spec.kind == "hub" or spec.task else (spec.format or "files")
    if spec.kind == "hub" and spec.hub_config and not spec.task:
        name = f"{spec.name}:{spec.hub_config}"
    return resolve_dataset(name, data_dir=spec.data_dir, data_files=files, split=spec.split,
                           text_columns=spec.text_columns, streaming=streaming)


def reopen_args(spec: DatasetSpec) -> dict[str, Any]:
    """The ``open_dataset`` arguments that open a spec's dataset again."""
    files = list(spec.files) if spec.kind == "files" else None
    name = spec.name if spec.kind == "hub" or spec.task else (spec.format or "files")
    if spec.kind == "hub" and spec.hub_config and not spec.task:
        name = f"{spec.name}:{spec.hub_config}"
    return {"dataset": name, "data_dir": spec.data_dir, "data_files": files, "split": spec.split}


def _glue_task_of(name: str) -> GlueTask | None:
    lowered = name.lower()
    if lowered == "glue":
        return glue_task(None)
    if lowered.startswith("glue/"):
        return glue_task(name.split("/", 1)[1])
    return None


def _glue(task: GlueTask, data_dir: str | Path | None, split: str | None,
          streaming: bool) -> tuple[DatasetSpec, Any]:
    split = split or "validation"
    root = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    root = str(Path(root).expanduser().resolve()) if root is not None else None
    name = f"glue/{task.name}"
    if root is None:
        reader = HubDataset("glue", task.name, task.hub_split(split), streaming=streaming,
                            hint=GLUE_HINT)
        return DatasetSpec(name, "hub", split, task.name, hub_config=task.name), reader
    path = glue_file(Path(root), task, split)
    if not path.is_file():
        raise DataError(f"GLUE file {str(path)!r} for task {task.name!r} split {split!r} not found; "
                        f"put {task.folder}/{path.name} under {str(root)!r} (GLUE layout) or pass "
                        "another --data-dir/--split")
    reader = LocalFiles([path], _glue_format(task, split))
    return DatasetSpec(name, "files", split, task.name, (str(path),), str(root), "tsv"), reader


def _glue_format(task: GlueTask, split: str) -> FileFormat:
    names = task.column_names(split)
    return FileFormat("tsv", tuple(names) if names else None, dict(task.renames))


def _local_files(name: str, task: GlueTask | None, data_files: PathsArg,
                 split: str | None) -> tuple[DatasetSpec, Any]:
    split, paths = _pick_files(data_files, split)
    override = name.lower() if name.lower() in FORMAT_NAMES else None
    if task is not None:
        fmt = _glue_format(task, split or "validation")
    else:
        fmt = format_for(paths[0], override)
        other = {format_for(p, override).kind for p in paths}
        if len(other) > 1:
            raise DataError(f"data files mix formats ({', '.join(sorted(other))}); "
                            "pass files of one format")
    label = f"glue/{task.name}" if task else "files"
    spec = DatasetSpec(label, "files", split, task.name if task else None,
                       tuple(str(p.resolve()) for p in paths), None, fmt.kind)
    return spec, LocalFiles(paths, fmt)


def _pick_files(data_files: PathsArg, split: str | None) -> tuple[str | None, list[Path]]:
    if isinstance(data_files, Mapping):
        if not data_files:
            raise DataError("data_files is an empty mapping; give {split: files}")
        chosen = split or ("validation" if "validation" in data_files else next(iter(data_files)))
        if chosen not in data_files:
            raise DataError(f"data_files has no split {chosen!r}; splits: {', '.join(data_files)}")
        return chosen, _as_paths(data_files[chosen])
    paths = _as_paths(data_files)
    if not paths:
        raise DataError("no data files given; pass --data-files with at least one file")
    return split, paths


def _as_paths(value: str | Path | Sequence[str | Path]) -> list[Path]:
    items = [value] if isinstance(value, (str, Path)) else list(value)
    return expand_shards(items)


def _hub(name: str, split: str | None, streaming: bool) -> tuple[DatasetSpec, Any]:
    path, _, config = name.partition(":")
    hint = ("check the dataset id and that it is cached for offline use, or pass local files "
            "with --data-files")
    reader = HubDataset(path, config or None, split, streaming=streaming, hint=hint)
    return DatasetSpec(path, "hub", reader.split, hub_config=config or None), reader
