"""Reading the history: rows (one per run and cell) and series (one value per commit).

A series is one model, machine, variant, runtime, thread count and cell. Commits are ordered by
their committer time where git knew it, else by when they were first measured. A commit's value
is the median of its runs' medians.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .history_db import connect

SeriesKey = tuple[str, str, str, str, str, "int | None"]   # model, machine, variant, runtime, cell, threads


@dataclass(frozen=True)
class Filters:
    model: str | None = None
    machine: str | None = None
    variant: str | None = None
    cells: tuple[str, ...] = ()

    def where(self) -> tuple[str, list[Any]]:
        parts, args = [], []
        for column, value in (("r.model", self.model), ("r.machine", self.machine), ("c.variant", self.variant)):
            if value is not None:
                parts.append(f"{column} = ?")
                args.append(value)
        if self.cells:
            parts.append(f"c.cell IN ({', '.join('?' * len(self.cells))})")
            args += list(self.cells)
        return (" WHERE " + " AND ".join(parts)) if parts else "", args


@dataclass(frozen=True)
class Row:
    """One cell of one run."""

    commit: str
    commit_time: str | None
    created: str
    machine: str
    model: str
    variant: str
    runtime: str
    cell: str
    threads: int | None
    median_ms: float
    rounds: int
    round_medians_ms: tuple[float, ...]
    run_id: str
    source: str
    schema_version: int
    dirty: bool

    @property
    def key(self) -> SeriesKey:
        return self.model, self.machine, self.variant, self.runtime, self.cell, self.threads

    def to_dict(self) -> dict[str, Any]:
        return {"commit": self.commit, "commit_time": self.commit_time, "created": self.created,
                "machine": self.machine, "model": self.model, "variant": self.variant,
                "runtime": self.runtime, "cell": self.cell, "threads": self.threads,
                "median_ms": self.median_ms, "rounds": self.rounds,
                "round_medians_ms": list(self.round_medians_ms), "run_id": self.run_id,
                "source": self.source, "schema_version": self.schema_version, "dirty": self.dirty}


QUERY = """SELECT r.commit_sha, r.commit_time, r.created, r.machine, r.model, c.variant, c.runtime,
    c.cell, c.threads, c.median_ms, c.rounds, c.round_medians_ms, r.run_id, r.source,
    r.schema_version, r.dirty, c.batch_size, c.sequence_length, c.past_length
    FROM cells c JOIN runs r ON r.run_id = c.run_id"""


def read_rows(db: str | Path, filters: Filters | None = None) -> list[Row]:
    """Every matching row, ordered by series, then commit order, then measurement time."""
    with connect(db) as conn:
        return _rows(conn, filters or Filters())


def _rows(conn: sqlite3.Connection, filters: Filters) -> list[Row]:
    where, args = filters.where()
    found = conn.execute(QUERY + where, args).fetchall()
    rows = [Row(*r[:11], tuple(json.loads(r[11])), r[12], r[13], int(r[14]), bool(r[15])) for r in found]
    shape = {(r[4], r[5], r[6], r[7]): (r[16], r[17], r[18]) for r in found}   # cells sort by size
    order = commit_order(rows)
    rows.sort(key=lambda r: (r.model, r.machine, r.variant, r.runtime,
                             shape[r.model, r.variant, r.runtime, r.cell], r.cell, r.threads or 0,
                             order[r.commit], r.created))
    return rows


def commit_order(rows: Sequence[Row]) -> dict[str, tuple[str, str]]:
    """Each commit's sort key: its committer time where known, else its first measurement."""
    first: dict[str, tuple[str, str]] = {}
    for r in rows:
        key = (r.commit_time or r.created, r.commit)
        first[r.commit] = min(first.get(r.commit, key), key)
    return first


@dataclass(frozen=True)
class Series:
    key: SeriesKey
    commits: tuple[str, ...]                      # in order
    values_ms: tuple[float, ...]                  # per commit: median of its runs' medians
    runs_ms: tuple[tuple[float, ...], ...]        # per commit: each run's median
    rounds_ms: tuple[tuple[float, ...], ...] = field(default=())   # per commit: every round's median

    @property
    def label(self) -> str:
        model, machine, variant, runtime, cell, threads = self.key
        runtime_part = "" if runtime in ("onnxruntime", variant) else f" ({runtime})"
        threads_part = f", {threads} thread{'s' if threads != 1 else ''}" if threads else ""
        return f"{model} {variant}{runtime_part} {cell} on {machine}{threads_part}"


def to_series(rows: Sequence[Row]) -> list[Series]:
    """Rows (as read_rows orders them) grouped into series, one value per commit."""
    groups: dict[SeriesKey, dict[str, list[Row]]] = {}
    for r in rows:
        groups.setdefault(r.key, {}).setdefault(r.commit, []).append(r)
    out = []
    for key, by_commit in groups.items():
        commits = tuple(by_commit)
        runs = tuple(tuple(r.median_ms for r in by_commit[c]) for c in commits)
        rounds = tuple(tuple(v for r in by_commit[c] for v in r.round_medians_ms) for c in commits)
        values = tuple(float(np.median(v)) for v in runs)
        out.append(Series(key, commits, values, runs, rounds))
    return out


def summary(db: str | Path) -> dict[str, int]:
    """How many runs, commits, machines, models and cell rows the history holds."""
    with connect(db) as conn:
        return _summary(conn)


def rows_and_summary(db: str | Path, filters: Filters | None = None) -> tuple[list[Row], dict[str, int]]:
    """``read_rows`` and ``summary`` through one connection (one open and integrity check)."""
    with connect(db) as conn:
        return _rows(conn, filters or Filters()), _summary(conn)


def _summary(conn: sqlite3.Connection) -> dict[str, int]:
    runs, commits, machines, models = conn.execute(
        "SELECT COUNT(*), COUNT(DISTINCT commit_sha), COUNT(DISTINCT machine), "
        "COUNT(DISTINCT model) FROM runs").fetchone()
    cells = conn.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
    return {"runs": runs, "commits": commits, "machines": machines, "models": models, "cells": cells}
