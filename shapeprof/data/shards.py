"""Sharded corpora: a folder or glob of data files, and cheap checks of every shard.

``expand_shards`` turns each ``--data-files`` item that is a folder (searched recursively) or
a glob pattern into the data files it holds, sorted, so ``corpus/`` or ``'corpus/*.parquet'``
names every shard. ``check_shards`` opens each shard just enough to know it parses (a parquet
footer, a json line, a csv header), so a broken shard is a one-line error naming the file
before a distributed job starts; parquet footers also give the exact row count.
"""

from __future__ import annotations

import glob
import json
from collections.abc import Sequence
from pathlib import Path

from ..errors import DataError
from .readers import SUFFIX_FORMATS, FileFormat, csv_options, guarded

GLOB_CHARS = set("*?[")
PROBE_BYTES = 1 << 16


def expand_shards(items: Sequence[str | Path]) -> list[Path]:
    """Files as given; folders and glob patterns replaced by the data files they hold."""
    out: list[Path] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*")
                           if p.is_file() and p.suffix.lower() in SUFFIX_FORMATS)
            out += _nonempty(found, str(path), "folder")
        elif not path.exists() and GLOB_CHARS & set(str(item)):
            found = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
            out += _nonempty(found, str(item), "pattern")
        else:
            out.append(path)
    return out


def _nonempty(found: list[Path], where: str, what: str) -> list[Path]:
    if not found:
        raise DataError(f"{what} {where!r} holds no data files "
                        f"({', '.join(sorted(SUFFIX_FORMATS))}); check the path")
    return found


def check_shards(paths: Sequence[Path], fmt: FileFormat) -> int | None:
    """Parse the start of every shard; returns the total rows when every footer says (parquet)."""
    total: int | None = 0
    for path in paths:
        rows = guarded(path, lambda path=path: _probe(path, fmt))
        total = None if rows is None or total is None else total + rows
    return total


def _probe(path: Path, fmt: FileFormat) -> int | None:
    if fmt.kind == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    if fmt.kind == "json":
        _probe_json_line(path)
        return None
    import pyarrow.csv as pc

    read, parse, convert = csv_options(fmt)
    read.block_size = PROBE_BYTES
    with pc.open_csv(path, read_options=read, parse_options=parse, convert_options=convert) as r:
        r.read_next_batch()
    return None


def _probe_json_line(path: Path) -> None:
    with open(path, "rb") as f:
        for raw in f:
            line = raw.strip().lstrip(b"\xef\xbb\xbf")
            if not line:
                continue
            if line.startswith(b"["):
                raise DataError(f"{str(path)!r} is a JSON array; the Ray engine reads JSON lines "
                                "(one object per line): convert it, or use --engine stream")
            if not isinstance(json.loads(line), dict):
                raise DataError(f"{str(path)!r}: the first line is not a JSON object; "
                                "JSON lines files hold one object per line")
            return
