"""Load the texts of a resolved dataset: all rows, a seeded sample, or a stream of chunks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import DataError
from .rows import TextRows
from .sampling import Reservoir, sample_indices
from .source import ResolvedDataset

CHUNK_ROWS = 65536


def progress_bar(enabled: bool, total: int | None, desc: str) -> Any:
    """Progress over rows on stderr (``shapeprof.console.progress``: a bar on a terminal, else a
    line at least every 10 s)."""
    from ..console import progress

    return progress(total, desc, enabled=enabled, unit="rows")


def empty_error(ds: ResolvedDataset) -> DataError:
    split = f" split {ds.spec.split!r}" if ds.spec.split else ""
    return DataError(f"dataset {ds.spec.name!r}{split} ({ds.reader.description}) has no rows; "
                     "check the file, the --split or the --data-files")


def load_texts(ds: ResolvedDataset, rows: int | None = None, seed: int = 0) -> tuple[TextRows, int]:
    """Read the text columns into memory and keep a seeded sample; returns (texts, total rows)."""
    columns = ds.spec.text_columns
    table = ds.reader.read(columns)
    total = table.num_rows
    if total == 0:
        raise empty_error(ds)
    indices = sample_indices(total, rows, seed)
    if indices is not None:
        table = table.take(indices)
    return TextRows.from_table(table, columns), total


def iter_texts(ds: ResolvedDataset, chunk_rows: int | None = None) -> Iterator[TextRows]:
    """Stream the text columns in chunks of about ``chunk_rows`` rows (memory bounded by a chunk)."""
    columns = ds.spec.text_columns
    for table in ds.reader.iter_batches(columns, chunk_rows or CHUNK_ROWS):
        if table.num_rows:
            yield TextRows.from_table(table, columns)


def stream_sample(ds: ResolvedDataset, rows: int, seed: int = 0, progress: bool = False,
                  chunk_rows: int | None = None) -> tuple[TextRows, int]:
    """Reservoir-sample ``rows`` rows in one pass over a stream; returns (texts, total rows)."""
    reservoir = Reservoir(rows, ds.spec.text_columns, seed)
    with progress_bar(progress, None, "sampling") as bar:
        for chunk in iter_texts(ds, chunk_rows):
            reservoir.add(chunk)
            bar.update(len(chunk))
    if reservoir.seen == 0:
        raise empty_error(ds)
    return reservoir.result(), reservoir.seen
