"""Labelled rows to score variants on: loaded, checked and sampled before any model is loaded.

``load_accuracy_data(None, kind)`` picks the kind's default (see :mod:`.defaults`): STS-B dev
for embedding models, the GLUE dev set whose labels a classifier names, SST-2 dev text for
generative models. Any dataset ``shapeprof profile`` reads works too (``glue/<task>``, a
csv/tsv/json/parquet file, a Hub id); its label column is ``label`` (or ``labels``, ``score``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..bench.calibration import source_key
from ..errors import DataError
from .defaults import GENERATIVE_ROWS, TASK_METRICS, default_source, num_labels
from .kind import check_kind

if TYPE_CHECKING:
    from ..data.rows import TextRows
    from ..data.source import ResolvedDataset

LABEL_COLUMNS = ("label", "labels", "score")


@dataclass(frozen=True, eq=False)
class AccuracyData:
    """Rows to score, their gold labels, and which rows of which source they are."""

    kind: str                       # "embedding", "classifier" or "generative"
    name: str                       # e.g. "glue/stsb validation"
    texts: TextRows
    labels: np.ndarray | None       # float scores, integer classes, or None (generative)
    metric: str                     # the task metric: "spearman x100", "accuracy", "f1", "perplexity"
    source_key: tuple[str, ...]     # identifies the source (files or Hub id, and split)
    indices: tuple[int, ...]        # the rows used, as row numbers of the source (data order)
    rows_total: int
    seed: int

    def __len__(self) -> int:
        return len(self.texts)

    def describe(self) -> dict[str, Any]:
        """What results record about the data (row numbers included, for disjointness checks)."""
        return {"kind": self.kind, "name": self.name, "metric": self.metric, "rows": len(self),
                "rows_total": self.rows_total, "seed": self.seed, "source": list(self.source_key),
                "indices": list(self.indices)}


def load_accuracy_data(source: str | Path | None, kind: str, *, rows: int | None = None, seed: int = 0,
                       model_dir: str | Path | None = None, data_dir: str | Path | None = None
                       ) -> AccuracyData:
    """Read, check and sample accuracy data; a one-line DataError when it cannot be scored.

    ``rows`` keeps a seeded sample (data order); None keeps every row (generative: 256).
    With ``model_dir`` a classifier's labels must fit its head, and the default data follows them.
    """
    check_kind(kind)
    config = _model_config(model_dir)
    name = str(source) if source is not None else default_source(kind, config)
    ds = _resolve(name, data_dir)
    label = _label_column(ds, kind)
    _check_columns(ds, kind, label)
    texts, labels, indices, total = _read(ds, label, rows if rows or kind != "generative" else GENERATIVE_ROWS,
                                          seed)
    metric = _metric(kind, ds, labels)
    if config is not None and kind == "classifier":
        check_labels_fit(labels, metric, num_labels(config), ds.spec.name)
    return AccuracyData(kind, f"{ds.spec.name} {ds.spec.split or ''}".strip(), texts, labels, metric,
                        source_key(ds.spec), indices, total, seed)


def _model_config(model_dir: str | Path | None) -> dict[str, Any] | None:
    if model_dir is None:
        return None
    from ..bench.model_dir import open_model_dir

    return open_model_dir(model_dir).config


def _resolve(name: str, data_dir: str | Path | None) -> ResolvedDataset:
    from ..data.source import resolve_dataset

    return resolve_dataset(name, data_dir=data_dir)


def _label_column(ds: ResolvedDataset, kind: str) -> str | None:
    if kind == "generative":         # scored against its own text: labels are not read
        return None
    names = list(ds.reader.schema().names)
    found = next((c for c in LABEL_COLUMNS if c in names), None)
    if found is None:
        raise DataError(f"accuracy data {ds.spec.name!r} ({ds.reader.description}) has no label column "
                        f"({' or '.join(LABEL_COLUMNS)}; columns: {', '.join(names)}); pass labelled "
                        "data, e.g. a GLUE dev set (glue/sst2, glue/stsb)")
    return found


def _check_columns(ds: ResolvedDataset, kind: str, label: str | None) -> None:
    columns = ds.spec.text_columns
    if kind == "embedding" and len(columns) != 2:
        raise DataError(f"accuracy data {ds.spec.name!r} has one text column ({columns[0]}); an embedding "
                        "model is scored on sentence pairs with a similarity score (like glue/stsb: "
                        "sentence1, sentence2, score)")
    if label is not None and label in columns:
        raise DataError(f"accuracy data {ds.spec.name!r}: column {label!r} is both text and label; "
                        "pass a file whose label column holds numbers")


def _read(ds: ResolvedDataset, label: str | None, rows: int | None, seed: int
          ) -> tuple[TextRows, np.ndarray | None, tuple[int, ...], int]:
    from ..data.load import empty_error
    from ..data.rows import TextRows
    from ..data.sampling import sample_indices

    columns = list(ds.spec.text_columns) + ([label] if label else [])
    table = ds.reader.read(columns)
    total = table.num_rows
    if total == 0:
        raise empty_error(ds)
    picked = sample_indices(total, rows, seed)
    indices = tuple(range(total)) if picked is None else tuple(int(i) for i in picked)
    if picked is not None:
        table = table.take(picked)
    texts = TextRows.from_table(table, ds.spec.text_columns)
    labels = _parse_labels(table.column(label).to_pylist(), ds, label, indices) if label else None
    return texts, labels, indices, total


def _parse_labels(values: list[Any], ds: ResolvedDataset, column: str, indices: tuple[int, ...]
                  ) -> np.ndarray:
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            raise DataError(f"accuracy data {ds.spec.name!r}: label column {column!r} holds {str(v)[:40]!r} "
                            f"at row {indices[i]}, not a number; pass labelled rows (a dev split, not "
                            "test) with numeric labels") from None
    if not np.isfinite(out).all() or (out < 0).all():
        raise DataError(f"accuracy data {ds.spec.name!r} has no gold labels in column {column!r} "
                        "(missing or all negative, as in a GLUE test split); use a labelled split")
    return out


def _metric(kind: str, ds: ResolvedDataset, labels: np.ndarray | None) -> str:
    if kind == "embedding":
        return "spearman x100"
    if kind == "generative":
        return "perplexity"
    if labels is None:
        return "accuracy"
    if ds.spec.task in TASK_METRICS:
        return TASK_METRICS[ds.spec.task]
    return "accuracy" if np.all(labels == np.round(labels)) else "spearman x100"


def check_labels_fit(labels: np.ndarray | None, metric: str, classes: int, name: str) -> None:
    """A classifier's head must be able to predict every label of the data."""
    if labels is None:
        return
    if metric == "spearman x100":
        if classes != 1:
            raise DataError(f"accuracy data {name!r} has real-valued labels but the model predicts "
                            f"{classes} classes; pass the classification data the model was trained for")
        return
    if classes == 1 or labels.max() >= classes or labels.min() < 0:
        raise DataError(f"accuracy data {name!r} has labels {int(labels.min())}..{int(labels.max())} but the "
                        f"model's head has {classes} output(s); pass the data of the model's task")
