"""Local tabular files (csv, tsv, json/jsonl, parquet) read with pyarrow, whole or in chunks.

``.tsv`` files are read without quote handling (as GLUE needs: its text has unbalanced
``"``); ``.csv`` files use standard double-quote quoting. Empty strings and words such as
``null`` or ``NA`` stay strings. Column renames (GLUE file names -> Hub names) apply on read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DataError

CSV_BLOCK_BYTES = 8 << 20
SUFFIX_FORMATS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "json",
                  ".ndjson": "json", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class FileFormat:
    """How to parse a file: ``kind`` is csv, tsv, json or parquet."""

    kind: str
    column_names: tuple[str, ...] | None = None   # for files without a header row
    renames: Mapping[str, str] = field(default_factory=dict)  # file column -> exposed column

    @property
    def original(self) -> dict[str, str]:
        return {new: old for old, new in self.renames.items()}


def format_for(path: Path, override: str | None = None) -> FileFormat:
    """The format named by ``override`` (csv/tsv/json/parquet) or by the file suffix."""
    kind = override or SUFFIX_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"cannot tell the format of {str(path)!r} from its suffix; use one of "
                        f"{', '.join(sorted(SUFFIX_FORMATS))}")
    return FileFormat(kind="json" if kind == "jsonl" else kind)


def check_readable(path: Path) -> Path:
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise DataError(f"data file {str(path)!r} {what}; check --data-files/--data-dir "
                        "(or SHAPEPROF_DATA_DIR)")
    return path


def _one_line(error: BaseException) -> str:
    """The error's first line, without the row text pyarrow quotes (never echo a file's bytes)."""
    import re

    text = str(error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    return re.sub(r"(columns, got \d+):.*", r"\1", first)[:200]


def unreadable(path: Path, error: BaseException) -> DataError:
    """A one-line error naming the file that cannot be parsed."""
    return DataError(f"cannot read {str(path)!r}: {_one_line(error)}; "
                     "check that the file is a valid csv/tsv/json/jsonl/parquet file")


class LocalFiles:
    """One or more local files of one format, exposed as pyarrow tables."""

    def __init__(self, paths: Sequence[Path], fmt: FileFormat) -> None:
        if not paths:
            raise DataError("no data files given; pass --data-files or a dataset name")
        self.paths = [check_readable(Path(p)) for p in paths]
        self.fmt = fmt
        self.num_rows: int | None = None

    @property
    def description(self) -> str:
        return ", ".join(str(p) for p in self.paths)

    def schema(self) -> Any:
        """Column names and inferred types of the first file (after renames)."""
        path = self.paths[0]
        return guarded(path, lambda: _renamed_schema(_schema(path, self.fmt), self.fmt.renames))

    def read(self, columns: Sequence[str]) -> Any:
        import pyarrow as pa

        tables = [guarded(p, lambda p=p: _read(p, self.fmt, self._file_columns(columns)))
                  for p in self.paths]
        table = pa.concat_tables([self._exposed(t, columns) for t in tables])
        self.num_rows = table.num_rows
        return table

    def iter_batches(self, columns: Sequence[str], chunk_rows: int) -> Iterator[Any]:
        for path in self.paths:
            batches = _iter(path, self.fmt, self._file_columns(columns), chunk_rows)
            while True:
                batch = guarded(path, lambda: next(batches, None))
                if batch is None:
                    break
                for start in range(0, batch.num_rows, chunk_rows):   # csv blocks are sized in bytes
                    yield self._exposed(batch.slice(start, chunk_rows), columns)

    def _file_columns(self, columns: Sequence[str]) -> list[str]:
        return [self.fmt.original.get(c, c) for c in columns]

    def _exposed(self, table: Any, columns: Sequence[str]) -> Any:
        import pyarrow as pa

        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        return table.rename_columns(list(columns))



def guarded(path: Path, read: Callable[[], Any]) -> Any:
    """``read()``, its failure as one line naming ``path`` (pyarrow, json and unicode errors
    alike; a missing column as such); our own DataError as it is."""
    try:
        return read()
    except DataError:
        raise
    except KeyError as e:
        raise DataError(f"{str(path)!r} has no column {e}; all files must share columns") from e
    except Exception as e:  # including UnicodeDecodeError from a binary header
        raise unreadable(path, e) from e


def _renamed_schema(schema: Any, renames: Mapping[str, str]) -> Any:
    import pyarrow as pa

    return pa.schema([f.with_name(renames.get(f.name, f.name)) for f in schema])


# --- per-format primitives -------------------------------------------------------------


def csv_options(fmt: FileFormat, columns: Sequence[str] | None = None) -> tuple[Any, Any, Any]:
    import pyarrow as pa
    import pyarrow.csv as pc

    read = pc.ReadOptions(column_names=list(fmt.column_names) if fmt.column_names else None,
                          block_size=CSV_BLOCK_BYTES)
    parse = pc.ParseOptions(delimiter="\t" if fmt.kind == "tsv" else ",",
                            quote_char=False if fmt.kind == "tsv" else '"')
    convert = pc.ConvertOptions(null_values=[], strings_can_be_null=False,
                                quoted_strings_can_be_null=False,
                                include_columns=list(columns) if columns is not None else None,
                                column_types={c: pa.string() for c in columns or ()})
    return read, parse, convert


def is_json_array(path: Path) -> bool:
    """Whether a .json file holds one JSON array of records (not JSON lines)."""
    with open(path, "rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"[")


def json_array_table(path: Path, columns: Sequence[str] | None) -> Any:
    """A JSON array of records as a table, types as inferred (all columns when ``columns`` is None)."""
    import pyarrow as pa

    with open(path, encoding="utf-8-sig") as f:
        records = json.load(f)
    table = pa.Table.from_pylist(records)
    return table.select(list(columns)) if columns is not None else table


def json_options(columns: Sequence[str]) -> Any:
    """Read only ``columns``, as strings, so later blocks cannot change their type."""
    import pyarrow as pa
    import pyarrow.json as pj

    schema = pa.schema([(c, pa.string()) for c in columns])
    return pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")


def _schema(path: Path, fmt: FileFormat) -> Any:
    import pyarrow.csv as pc
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    if fmt.kind == "parquet":
        return pq.ParquetFile(path).schema_arrow
    if fmt.kind == "json":
        if is_json_array(path):
            return json_array_table(path, None).schema
        with pj.open_json(path) as reader:
            return reader.schema
    read, parse, convert = csv_options(fmt)
    with pc.open_csv(path, read_options=read, parse_options=parse, convert_options=convert) as r:
        return r.schema


def _read(path: Path, fmt: FileFormat, columns: Sequence[str]) -> Any:
    import pyarrow.csv as pc
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    if fmt.kind == "parquet":
        return pq.read_table(path, columns=list(columns))
    if fmt.kind == "json":
        if is_json_array(path):
            return json_array_table(path, columns)
        return pj.read_json(path, parse_options=json_options(columns))
    read, parse, convert = csv_options(fmt, columns)
    return pc.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)


def _iter(path: Path, fmt: FileFormat, columns: Sequence[str], chunk_rows: int) -> Iterator[Any]:
    import pyarrow.csv as pc
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    if fmt.kind == "parquet":
        yield from pq.ParquetFile(path).iter_batches(batch_size=chunk_rows, columns=list(columns))
    elif fmt.kind == "json" and is_json_array(path):
        yield from json_array_table(path, columns).to_batches(max_chunksize=chunk_rows)
    elif fmt.kind == "json":
        with pj.open_json(path, parse_options=json_options(columns)) as reader:
            yield from reader
    else:
        read, parse, convert = csv_options(fmt, columns)
        with pc.open_csv(path, read_options=read, parse_options=parse,
                         convert_options=convert) as reader:
            yield from reader
