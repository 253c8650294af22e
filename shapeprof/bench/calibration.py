"""Calibration rows for static int8: real rows of the profiled dataset, disjoint from accuracy rows.

The rows are a seeded sample of the dataset's rows, leaving out every row the accuracy data
scores when both come from the same source (same files or Hub id, and split); which rows were
used is recorded. They are tokenized with the model's tokenizer at their natural lengths and
fed in small length-sorted batches, as a length-sorted server would see them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..errors import DataError

if TYPE_CHECKING:
    from ..data.rows import TextRows
    from ..data.source import DatasetSpec, ResolvedDataset
    from .model_dir import ModelDir

DEFAULT_CALIBRATION_ROWS = 256
CALIBRATION_BATCH = 8
MAX_LENGTH = 256


class RowsInUse(Protocol):
    """Rows taken by another use (e.g. ``shapeprof.accuracy.AccuracyData``)."""

    source_key: tuple[str, ...]
    indices: tuple[int, ...]


@dataclass(frozen=True)
class CalibrationRows:
    """The calibration texts and which rows of which source they are."""

    texts: TextRows
    source_key: tuple[str, ...]
    indices: tuple[int, ...]
    rows_total: int
    seed: int
    excluded: int                  # rows left out because the accuracy data scores them

    def __len__(self) -> int:
        return len(self.texts)

    def describe(self) -> dict[str, Any]:
        return {"rows": len(self), "rows_total": self.rows_total, "seed": self.seed,
                "source": list(self.source_key), "excluded_rows": self.excluded,
                "indices": list(self.indices)}


def source_key(spec: DatasetSpec) -> tuple[str, ...]:
    """Identifies a dataset's rows: its files (or Hub id and config) and split."""
    where = spec.files or (spec.name, spec.hub_config or "")
    return (*where, spec.split or "")


def calibration_rows(dataset: str | Path | DatasetSpec | ResolvedDataset | Any, *,
                     rows: int = DEFAULT_CALIBRATION_ROWS, seed: int = 0,
                     exclude: RowsInUse | Sequence[RowsInUse] = (), data_dir: str | Path | None = None
                     ) -> CalibrationRows:
    """A seeded sample of ``rows`` rows of ``dataset`` (a ShapeProfile, its ``dataset.spec``, a
    dataset name or a file), none of them a row that ``exclude`` uses from the same source."""
    from ..data.load import empty_error
    from ..data.rows import TextRows

    if rows < 1:
        raise DataError(f"calibration needs at least one row, not {rows}")
    ds = _resolve(dataset, data_dir)
    key = source_key(ds.spec)
    table = ds.reader.read(list(ds.spec.text_columns))
    total = table.num_rows
    if total == 0:
        raise empty_error(ds)
    taken = _taken(key, [exclude] if hasattr(exclude, "indices") else exclude)
    eligible = np.setdiff1d(np.arange(total), np.fromiter(taken, dtype=np.int64))
    if not len(eligible):
        raise DataError(f"every row of {ds.spec.name!r} is used to measure accuracy, so none is left to "
                        "calibrate on; score accuracy on fewer rows or another split")
    picked = np.sort(np.random.default_rng(seed).choice(eligible, size=min(rows, len(eligible)), replace=False))
    texts = TextRows.from_table(table.take(picked), ds.spec.text_columns)
    return CalibrationRows(texts, key, tuple(int(i) for i in picked), total, seed, total - len(eligible))


def _resolve(dataset: Any, data_dir: str | Path | None) -> ResolvedDataset:
    from ..data.source import DatasetSpec, ResolvedDataset, reopen, resolve_dataset

    if isinstance(dataset, ResolvedDataset):
        return dataset
    profiled = getattr(getattr(dataset, "dataset", None), "spec", None)     # a ShapeProfile
    if isinstance(profiled, DatasetSpec):
        return reopen(profiled)
    if isinstance(dataset, DatasetSpec):
        return reopen(dataset)
    return resolve_dataset(str(dataset), data_dir=data_dir)


def _taken(key: tuple[str, ...], uses: Iterable[RowsInUse]) -> set[int]:
    return {int(i) for use in uses if tuple(use.source_key) == key for i in use.indices}


class TextCalibrationReader:
    """onnxruntime's CalibrationDataReader over tokenized calibration rows (length-sorted batches).

    ``uniform``: one row per batch, every batch padded to the longest row. onnxruntime's
    histogram calibrators (percentile, entropy) stack all batches' activations into one array,
    which needs one shape; padded positions are masked, as in pad-to-longest serving.
    ``tokenizer``: the model's, when the caller has it loaded (else loaded here).
    """

    def __init__(self, model: ModelDir, session_inputs: Sequence[Any], rows: CalibrationRows,
                 batch_size: int = CALIBRATION_BATCH, uniform: bool = False, tokenizer: Any = None) -> None:
        from ..accuracy.encode import encode
        from .inputs import load_model_tokenizer

        tokenizer = tokenizer if tokenizer is not None else load_model_tokenizer(model)
        limit = min(model.max_length or MAX_LENGTH, MAX_LENGTH)
        self.names = [i.name for i in session_inputs]
        self.batches = encode(tokenizer, rows.texts.inputs(), limit, 1 if uniform else batch_size,
                              uniform=uniform)
        self.rewind()

    def rewind(self) -> None:
        self._next = iter(self.batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._next, None)
        if batch is None:
            return None
        missing = [n for n in self.names if n not in batch.feeds]
        if missing:
            raise DataError(f"static int8 calibration cannot feed input {missing[0]!r} from text; "
                            "use dynamic int8 for this model")
        return {n: batch.feeds[n] for n in self.names}
