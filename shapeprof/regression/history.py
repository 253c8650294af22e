"""The history of runs: every bench and CI result in one SQLite database (see history_db).

``add_results`` reads a results file (bench.json, or the base.json / candidate.json that
``shapeprof ci`` writes; older schema versions migrate through shapeprof.schema, unknown extra
keys are ignored and the whole file is kept, compressed) and records it in one transaction:
the run (commit, machine fingerprint, model, source, timestamps, schema version) and one row
per cell (variant, runtime, cell, median, per-round medians). The same file added twice is
recorded once; the second add says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sqlite3
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .. import schema
from ..errors import HistoryError
from .compare import cell_label
from .history_db import connect, retry, transaction
from .history_git import Commit, resolve_commit

MACHINE_KEYS = ("cpu", "logical_cores", "physical_cores", "usable_cores")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,99}$")
FIX = "give a results file written by 'shapeprof bench -o' or 'shapeprof ci'"


@dataclass(frozen=True)
class CellRecord:
    variant: str
    runtime: str
    cell: str                        # "8x64", "decode 1x1 past 16"
    batch_size: int
    sequence_length: int
    phase: str
    past_length: int
    median_ms: float
    n: int
    rounds: int
    round_medians_ms: tuple[float, ...]


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    commit: Commit
    machine: str
    machine_description: dict[str, Any]
    model: str
    source: str                       # bench | ci-candidate | ci-base
    created: str
    schema_version: int
    file: str
    threads: int | None
    content: bytes                    # canonical JSON of the file as written
    cells: tuple[CellRecord, ...]


@dataclass(frozen=True)
class Added:
    run: RunRecord
    new: bool                         # False: the same results were already in the history

    def message(self, db: str | Path) -> str:
        r = self.run
        what = f"{len(r.cells)} cells of {r.model} at {r.commit.sha[:12]} on machine {r.machine}"
        if not self.new:
            return f"already in {db}: {what} (run {r.run_id}); nothing added"
        return f"added to {db}: {what} (run {r.run_id})"


def check_name(value: str, flag: str) -> str:
    if not NAME.match(value):
        raise HistoryError(f"{flag} {value!r} is not a name: use letters, digits and . _ : / + - "
                           "(up to 100 characters)")
    return value


def read_run(path: str | Path, commit: Commit, machine: str | None = None, model: str | None = None,
             source: str = "bench") -> RunRecord:
    """A results file as a history run; a one-line HistoryError when it cannot be one."""
    path = Path(path)
    raw = schema.read_json(path, schema.BENCH, HistoryError)
    where = f"results {str(path)!r}"
    if not isinstance(raw, Mapping):
        raise HistoryError(f"{where} holds a JSON {type(raw).__name__}, not an object; {FIX}")
    if raw.get("kind") not in (None, "shapeprof.bench"):
        raise HistoryError(f"{where} is a {raw.get('kind')!r} file, not benchmark results; {FIX}")
    data = schema.upgrade(schema.BENCH, raw, where, HistoryError)
    content = json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()
    env = _mapping(data, "environment", where)
    mid, description = machine_fingerprint(env, where) if machine is None else (machine, _machine(env))
    settings = data.get("settings") if isinstance(data.get("settings"), Mapping) else {}
    threads = settings.get("intra_op_threads")
    return RunRecord(hashlib.sha256(content).hexdigest()[:16], commit, mid, description,
                     model or default_model_name(_mapping(data, "model", where)), source,
                     _utc(data.get("created")) or now(), int(raw["schema_version"]), str(path),
                     threads if isinstance(threads, int) else None, content, _cells(data, where))


def _mapping(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise HistoryError(f"{where} has no {key!r} record; {FIX}")
    return value


def _machine(env: Mapping[str, Any]) -> dict[str, Any]:
    return {k: env.get(k) for k in MACHINE_KEYS}


def machine_fingerprint(env: Mapping[str, Any], where: str = "results") -> tuple[str, dict[str, Any]]:
    """A short stable id of the hardware the run measured on (CPU model and core counts)."""
    description = _machine(env)
    if all(v is None for v in description.values()):
        raise HistoryError(f"{where} records no CPU or core counts to fingerprint its machine; "
                           "pass --machine NAME")
    digest = hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()[:10]
    return f"{description.get('logical_cores') or '?'}cpu-{digest}", description


def default_model_name(model: Mapping[str, Any]) -> str:
    """MODEL_TYPE/TASK: the export's path changes between runs (CI: base-model, candidate-model)."""
    return f"{model.get('model_type') or 'unknown'}/{model.get('task') or 'unknown'}"


def _cells(data: Mapping[str, Any], where: str) -> tuple[CellRecord, ...]:
    cells = data.get("cells")
    if not isinstance(cells, list) or not cells:
        raise HistoryError(f"{where} holds no benchmark cells; {FIX}")
    try:
        records = tuple(_cell(c) for c in cells)
    except (KeyError, TypeError, ValueError) as e:
        raise HistoryError(f"{where} has a malformed cell ({type(e).__name__}: {e}); {FIX}") from e
    keys = [(r.variant, r.runtime, r.cell) for r in records]
    if len(set(keys)) < len(keys):
        twice = next(k for k in keys if keys.count(k) > 1)
        raise HistoryError(f"{where} measures cell {' '.join(twice)} twice; {FIX}")
    return records


def _cell(c: Mapping[str, Any]) -> CellRecord:
    from ..bench.paired import round_medians

    samples = [float(s) for s in c["samples_ms"]]
    if not samples or not all(s > 0 and np.isfinite(s) for s in samples):
        raise ValueError("samples_ms must be positive finite latencies")
    sizes = [int(n) for n in c.get("round_sizes") or ()]
    per_round = round_medians(samples, sizes)
    median = float(np.median(samples))
    rounds = [float(v) for v in per_round] if per_round is not None else [median]
    return CellRecord(str(c["variant"]), str(c["runtime"]), cell_label(c), int(c["batch_size"]),
                      int(c["sequence_length"]), str(c.get("phase") or ""), int(c.get("past_length") or 0),
                      median, len(samples), len(rounds), tuple(rounds))


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _utc(text: Any) -> str | None:
    """An ISO timestamp in UTC (naive ones are taken as UTC); None when absent or unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        return None
    t = t if t.tzinfo else t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).isoformat(timespec="seconds")


def add_results(db: str | Path, path: str | Path, commit: str | None = None, machine: str | None = None,
                model: str | None = None, source: str = "bench", cwd: str | Path = ".") -> Added:
    """Record one results file in the history at ``db`` (created if missing), in one transaction."""
    run = read_run(path, resolve_commit(commit, cwd), machine, model, source)
    with connect(db, create=True) as conn:
        return add_run(conn, run)


def add_run(conn: sqlite3.Connection, run: RunRecord) -> Added:
    """Record ``run`` through an open history connection, in one transaction (retried when busy)."""
    return retry(lambda: _insert(conn, run))


def _insert(conn: Any, run: RunRecord) -> Added:
    with transaction(conn):
        old = conn.execute("SELECT commit_sha FROM runs WHERE run_id = ?", (run.run_id,)).fetchone()
        if old is not None:
            if old[0] != run.commit.sha:
                raise HistoryError(f"results {run.file!r} are already in the history at commit "
                                   f"{old[0][:12]}, not {run.commit.sha[:12]}; one run measures one commit")
            return Added(run, False)
        conn.execute("INSERT OR IGNORE INTO machines VALUES (?, ?)",
                     (run.machine, json.dumps(run.machine_description, sort_keys=True)))
        c = run.commit
        conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (run.run_id, c.sha, c.time, int(c.dirty), run.machine, run.model, run.source,
                      run.created, now(), run.schema_version, run.file, zlib.compress(run.content)))
        conn.executemany("INSERT INTO cells VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         [(run.run_id, x.variant, x.runtime, x.cell, x.batch_size, x.sequence_length,
                           x.phase, x.past_length, run.threads, x.median_ms, x.n, x.rounds,
                           json.dumps(x.round_medians_ms)) for x in run.cells])
    return Added(run, True)


@dataclass(frozen=True)
class OpenHistory:
    """A history database opened and checked once, e.g. for the whole of a CI run."""

    path: Path
    conn: sqlite3.Connection


@contextlib.contextmanager
def open_history(db: str | Path) -> Iterator[OpenHistory]:
    """Open (creating if missing) and check the database before a CI run's heavy work; the run
    records its results through the same connection at the end."""
    with connect(db, create=True) as conn:
        yield OpenHistory(Path(db), conn)


def record_ci(history: OpenHistory, work: Path, base_rev: str, same: bool, root: Path) -> str:
    """Add a CI run's candidate (at HEAD of the checkout ``root``) and, unless it was an A/A
    run (``same``), its base (at ``base_rev``) to the open ``history``; the report's note line.
    Both files are read and their commits resolved before either is added."""
    runs = [read_run(work / "candidate.json", resolve_commit(None, root), source="ci-candidate")]
    if not same:
        runs.append(read_run(work / "base.json", resolve_commit(base_rev, root), source="ci-base"))
    return "history: " + "; ".join(add_run(history.conn, r).message(history.path) for r in runs)
