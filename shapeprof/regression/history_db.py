"""The history database's file: opening it safely, its tables, and one transaction per write.

An SQLite file in WAL mode (readers never block the writer). Every write is one ``BEGIN
IMMEDIATE`` transaction, which takes the write lock before reading anything, so two CI jobs
adding at once queue behind each other (``busy_timeout``, then a retry with backoff) instead
of failing or losing a row; a crash or Ctrl-C mid-add rolls back to the last committed state.

A file that is not an SQLite database, a damaged one (``PRAGMA quick_check``), an SQLite
database of some other program, or one from a newer shapeprof: a one-line HistoryError naming
the file and what to do.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from ..errors import HistoryError

T = TypeVar("T")
FORMAT_VERSION = 1            # the tables below; bump with a migration when they change
KIND = "shapeprof.history"
MAGIC = b"SQLite format 3\x00"
BUSY_MS = 30_000              # SQLite waits this long for another writer's lock ...
RETRY_S = 120.0               # ... and we retry (with backoff) until this deadline
REBUILD = ("move it aside and rebuild the history with 'shapeprof history add' of your results "
           "files (or restore a backup)")

TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS machines (
    machine TEXT PRIMARY KEY, description TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,            -- hash of the results file's content
    commit_sha TEXT NOT NULL, commit_time TEXT, dirty INTEGER NOT NULL DEFAULT 0,
    machine TEXT NOT NULL REFERENCES machines(machine),
    model TEXT NOT NULL, source TEXT NOT NULL,
    created TEXT NOT NULL,              -- when the run measured (UTC ISO)
    added TEXT NOT NULL,                -- when it joined the history
    schema_version INTEGER NOT NULL,    -- of the results file as written
    file TEXT NOT NULL,
    results BLOB NOT NULL);             -- the whole file, zlib-compressed
CREATE TABLE IF NOT EXISTS cells (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    variant TEXT NOT NULL, runtime TEXT NOT NULL, cell TEXT NOT NULL,
    batch_size INTEGER NOT NULL, sequence_length INTEGER NOT NULL,
    phase TEXT NOT NULL, past_length INTEGER NOT NULL, threads INTEGER,
    median_ms REAL NOT NULL, n INTEGER NOT NULL, rounds INTEGER NOT NULL,
    round_medians_ms TEXT NOT NULL,     -- JSON list, one median per round
    PRIMARY KEY (run_id, variant, runtime, cell));
CREATE INDEX IF NOT EXISTS runs_series ON runs (model, machine, commit_sha);
CREATE INDEX IF NOT EXISTS cells_series ON cells (variant, cell);
"""


def _describe(path: Path) -> str:
    return f"history database {str(path)!r}"


def check_header(path: Path) -> None:
    """Refuse a non-empty file that does not start with SQLite's magic bytes."""
    if path.is_dir():
        raise HistoryError(f"{_describe(path)} is a directory; give a file path with --db")
    try:
        with path.open("rb") as f:
            head = f.read(len(MAGIC))
    except FileNotFoundError:
        return
    except OSError as e:
        raise HistoryError(f"cannot read {_describe(path)}: {e.strerror}; check its permissions") from e
    if head and head != MAGIC:
        raise HistoryError(f"{_describe(path)} is not an SQLite database (corrupt or another kind "
                           f"of file); {REBUILD}")


def _open(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=BUSY_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
    return conn


@contextlib.contextmanager
def connect(path: str | Path, create: bool = False) -> Iterator[sqlite3.Connection]:
    """An open, checked history database; ``create`` makes a missing one (and its folder)."""
    path = Path(path).expanduser()
    check_header(path)
    if not path.exists() and not create:
        raise HistoryError(f"no {_describe(path)}; add results first with 'shapeprof history add "
                           f"RESULTS.json --db {path}'")
    if create:
        _make_parent(path)
    try:
        conn = retry(lambda: _open(path))
    except sqlite3.Error as e:
        raise _failure(path, e) from e
    try:
        retry(lambda: _prepare(conn, path))
        yield conn
    except sqlite3.DatabaseError as e:
        raise _failure(path, e) from e
    finally:
        conn.close()


def _make_parent(path: Path) -> None:
    from ..atomic import check_creatable

    check_creatable(path.parent, HistoryError, _describe(path))
    path.parent.mkdir(parents=True, exist_ok=True)


def _prepare(conn: sqlite3.Connection, path: Path) -> None:
    """An integrity check, our tables (created, or checked to be ours), then WAL mode."""
    bad = [row[0] for row in conn.execute("PRAGMA quick_check")]
    if bad != ["ok"]:
        raise HistoryError(f"{_describe(path)} is damaged (SQLite quick_check: {bad[0]}); {REBUILD}")
    conn.execute("PRAGMA foreign_keys = ON")
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if tables and "meta" not in tables:
        raise HistoryError(f"{_describe(path)} is an SQLite database of another program (tables: "
                           f"{', '.join(sorted(tables)[:5])}); give another --db path")
    if not tables:
        with transaction(conn):
            for statement in TABLES.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('kind', ?), ('format_version', ?)",
                         (KIND, str(FORMAT_VERSION)))
    _check_meta(conn, path)
    conn.execute("PRAGMA journal_mode = WAL")     # only once the file is known to be ours


def _check_meta(conn: sqlite3.Connection, path: Path) -> None:
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if meta.get("kind") != KIND:
        raise HistoryError(f"{_describe(path)} is not a shapeprof history (its meta table says "
                           f"{meta.get('kind')!r}); give another --db path")
    version = int(meta.get("format_version", "0") or 0)
    if version > FORMAT_VERSION:
        from .. import __version__

        raise HistoryError(f"{_describe(path)} has format version {version}, but this shapeprof "
                           f"({__version__}) reads up to {FORMAT_VERSION}; upgrade shapeprof")


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; any failure (Ctrl-C, SIGTERM too) rolls back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def retry(action: Callable[[], T]) -> T:
    """Run ``action``; on 'database is locked/busy' wait with backoff until RETRY_S."""
    deadline, pause = time.monotonic() + RETRY_S, 0.05
    while True:
        try:
            return action()
        except sqlite3.OperationalError as e:
            if not _busy(e) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


def _busy(e: sqlite3.OperationalError) -> bool:
    text = str(e).lower()
    return "locked" in text or "busy" in text


def _failure(path: Path, e: sqlite3.Error) -> HistoryError:
    text = str(e)
    if isinstance(e, sqlite3.OperationalError) and _busy(e):
        return HistoryError(f"{_describe(path)} stayed locked by another writer for over "
                            f"{RETRY_S:.0f} s; retry when the other job has finished")
    if "unable to open" in text or "readonly" in text:
        return HistoryError(f"cannot open {_describe(path)} for writing ({text}); check the path "
                            "and its permissions")
    return HistoryError(f"{_describe(path)} is corrupt or unreadable ({text}); {REBUILD}")
