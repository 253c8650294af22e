"""The history of runs: the SQLite database (add, show, concurrent writers, bad files), the change
point detector on synthetic series, and the report, on real results fixtures."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from shapeprof.cli import main
from shapeprof.errors import HistoryError
from shapeprof.regression.changepoints import Method, detect, min_commits
from shapeprof.regression.history import add_results, open_history, record_ci
from shapeprof.regression.history_query import Filters, read_rows, summary, to_series

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
TEXT = FIXTURES / "report" / "bench-text.json"
TEXT_B = FIXTURES / "report" / "bench-text-b.json"
OLD = FIXTURES / "schema" / "bench-v1-f240149.json"
SHA = "{:02d}" + "c0ffee" * 6 + "ab"          # 40 hex digits per commit number


def small_results(tmp: Path, name: str, factor: float = 1.0, cells: int = 2, **extra: object) -> Path:
    """A real results fixture cut to ``cells`` cells, its samples scaled by ``factor``."""
    d = json.loads(TEXT.read_text())
    d["cells"] = [c for c in d["cells"] if c["variant"] == "onnx" and c["batch_size"] == 1][:cells]
    for c in d["cells"]:
        c["samples_ms"] = [s * factor for s in c["samples_ms"]]
    d.update(extra)
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(d))
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---- the detector ------------------------------------------------------------------------------

def test_a_step_is_found_at_its_commit():
    rng = np.random.default_rng(3)
    values = 10 * np.exp(rng.normal(0, 0.03, 30))
    values[17:] *= 1.12
    found = detect(values)
    assert [c.index for c in found.changes] == [17]
    assert found.changes[0].ratio == pytest.approx(1.12, abs=0.04)
    assert found.changes[0].p_value < 0.01
    assert found.smallest_step is not None and found.smallest_step < 1.12


def test_two_steps_and_an_improvement():
    rng = np.random.default_rng(5)
    values = 5 * np.exp(rng.normal(0, 0.02, 40))
    values[12:] *= 1.3
    values[28:] *= 0.7
    found = detect(values)
    assert [c.index for c in found.changes] == [12, 28]
    assert found.changes[0].ratio > 1.2 and found.changes[1].ratio < 0.8


@pytest.mark.parametrize("seed", range(6))
def test_a_flat_noisy_series_has_no_change(seed: int):
    rng = np.random.default_rng(seed)
    values = 10 * np.exp(0.05 * rng.standard_t(3, 40))     # heavy-tailed noise, like separate runs
    assert detect(values).changes == ()


def test_a_one_commit_spike_is_not_a_change():
    values = 10 * np.exp(np.random.default_rng(1).normal(0, 0.02, 24))
    values[11] *= 1.8
    assert detect(values).changes == ()


def test_min_change_drops_a_significant_but_small_step():
    values = np.r_[np.full(10, 10.0), np.full(10, 10.3)] * np.exp(np.random.default_rng(2).normal(0, 0.002, 20))
    assert [c.index for c in detect(values, Method(min_change=0.0)).changes] == [10]
    assert detect(values).changes == ()


def test_a_short_series_cannot_show_a_change():
    assert min_commits(Method()) == 11
    found = detect([1.0, 1.0, 1.0, 2.0, 2.0, 2.0])
    assert found.changes == () and found.smallest_step is None
    assert detect([1.0]).segments == ((0, 1, 1.0),)


# ---- add and show ------------------------------------------------------------------------------

def test_add_show_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    db = str(tmp_path / "h" / "history.sqlite")
    code, out, _ = cli(capsys, "history", "add", str(TEXT), "--db", db, "--commit", SHA.format(1))
    assert code == 0 and "added" in out and "72 cells" in out
    code, out, _ = cli(capsys, "history", "add", str(TEXT), "--db", db, "--commit", SHA.format(1))
    assert code == 0 and "already in" in out and "nothing added" in out
    code, out, err = cli(capsys, "history", "add", str(TEXT), "--db", db, "--commit", SHA.format(2))
    assert code == 2 and "already in the history at commit" in err
    assert cli(capsys, "history", "add", str(OLD), "--db", db, "--commit", SHA.format(3),
               "--machine", "old-box")[0] == 0
    code, out, _ = cli(capsys, "history", "show", "--db", db, "--json", "--cell", "4x52")
    rows = json.loads(out)["rows"]
    assert code == 0 and rows and {r["cell"] for r in rows} == {"4x52"}
    first = rows[0]
    assert first["commit"] == SHA.format(1) and first["schema_version"] == 2 and first["rounds"] == 3
    assert len(first["round_medians_ms"]) == 3 and first["model"] == "bert/feature-extraction"
    assert first["machine"].startswith("2cpu-") and first["threads"] == 1
    old = read_rows(db, Filters(machine="old-box"))
    assert old and {r.schema_version for r in old} == {1}            # migrated from version 1
    code, out, _ = cli(capsys, "history", "show", "--db", db, "--model", "bert/feature-extraction")
    assert code == 0 and "2 runs" in out.splitlines()[0] and SHA.format(1)[:12] in out


def test_a_newer_file_with_extra_keys_is_accepted(tmp_path: Path):
    """A later bench (e.g. a per-round reference timing) adds keys: they are kept, not refused."""
    path = small_results(tmp_path, "extra", reference={"round_ms": [1.0, 1.1, 0.9]})
    d = json.loads(path.read_text())
    for c in d["cells"]:
        c["reference_round_ms"] = [1.0, 1.1, 0.9]
    path.write_text(json.dumps(d))
    added = add_results(tmp_path / "h.sqlite", path, SHA.format(1))
    assert added.new and len(added.run.cells) == 2
    with sqlite3.connect(tmp_path / "h.sqlite") as conn:
        blob = conn.execute("SELECT results FROM runs").fetchone()[0]
    import zlib

    assert "reference_round_ms" in zlib.decompress(blob).decode()      # the whole file is kept


def test_commit_defaults_to_git_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    repo = _git_repo(tmp_path / "repo", commits=1)
    monkeypatch.chdir(repo)
    added = add_results(tmp_path / "h.sqlite", TEXT)
    assert added.run.commit.sha == _git(repo, "rev-parse", "HEAD") and added.run.commit.time


def test_a_failed_add_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from shapeprof.regression import history

    db = tmp_path / "h.sqlite"
    add_results(db, small_results(tmp_path, "a"), SHA.format(1))

    def broken(records: object) -> object:
        raise KeyboardInterrupt

    real = history.json.dumps
    monkeypatch.setattr(history.json, "dumps", lambda v, **k: broken(v) if isinstance(v, tuple) else real(v, **k))
    with pytest.raises(KeyboardInterrupt):        # interrupted between the run row and its cells
        add_results(db, small_results(tmp_path, "b", 1.5), SHA.format(2))
    assert summary(db) == {"runs": 1, "commits": 1, "machines": 1, "models": 1, "cells": 2}


# ---- concurrent writers ------------------------------------------------------------------------

WRITER = """
import sys, time
from pathlib import Path
from shapeprof.regression.history import add_results
db, go, files = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
while not go.exists():
    time.sleep(0.005)
for i, f in enumerate(files):
    add_results(db, f, f"{i:02d}" + "ab" * 19)
"""


def test_parallel_writers_lose_no_row(tmp_path: Path):
    """Four writer processes add six results each to one new database at the same moment."""
    writers, each = 4, 6
    files = [[str(small_results(tmp_path, f"w{w}-{i}", 1 + 0.01 * (w * each + i))) for i in range(each)]
             for w in range(writers)]
    db, go = tmp_path / "shared.sqlite", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(go), *f], env=env,
                              stderr=subprocess.PIPE, text=True) for f in files]
    time.sleep(1.0)                               # let every writer import and wait
    go.touch()
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * writers, errors
    counts = summary(db)
    assert counts["runs"] == writers * each and counts["cells"] == writers * each * 2
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# ---- the report --------------------------------------------------------------------------------

def _stepped_history(tmp_path: Path, commits: int = 14, step_at: int = 8) -> Path:
    db = tmp_path / "h.sqlite"
    rng = np.random.default_rng(0)
    for i in range(commits):
        factor = (1.2 if i >= step_at else 1.0) * float(np.exp(rng.normal(0, 0.02)))
        path = small_results(tmp_path, f"r{i}", factor, created=f"2026-11-{10 + i:02d}T10:00:00+00:00")
        add_results(db, path, SHA.format(i))
    return db


def test_report_finds_the_step_at_its_commit(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch):
    from shapeprof.regression import history_report

    built: list[str] = []
    real_markdown = history_report.markdown
    monkeypatch.setattr(history_report, "markdown", lambda r: built.append(real_markdown(r)) or built[-1])
    db = _stepped_history(tmp_path)
    code, out, _ = cli(capsys, "history", "report", "--db", str(db), "-o", str(tmp_path / "rep"))
    assert code == 0 and "Pettitt" in out and "alpha 0.01" in out
    md = (tmp_path / "rep" / "history.md").read_text()
    assert len(built) == 1 and out.startswith(md)           # built once, printed and written
    assert md.count(f"| {SHA.format(8)[:12]} | {SHA.format(7)[:12]} |") == 2      # both cells
    page = (tmp_path / "rep" / "history.html").read_text()
    assert page.count('<figure class="plot" id="series-') == 2 and "<svg" in page
    from shapeprof.regression.history_report import find_changes
    from shapeprof.report.history import (
        series_plot,  # the figure carries the data it drew
    )

    finding = find_changes(db, Filters(cells=("1x4",))).findings[0]
    data = series_plot(finding, 0).series
    assert data["changes"][0]["commit"] == SHA.format(8) and len(data["values_ms"]) == 14
    assert data["changes"][0]["ratio"] == pytest.approx(1.2, abs=0.05)


def test_series_order_commits_by_time_and_take_the_median_of_runs(tmp_path: Path):
    db = tmp_path / "h.sqlite"
    add_results(db, small_results(tmp_path, "late", created="2026-11-20T00:00:00+00:00"), SHA.format(1))
    add_results(db, small_results(tmp_path, "early", 2.0, created="2026-11-01T00:00:00+00:00"), SHA.format(2))
    add_results(db, small_results(tmp_path, "early2", 4.0, created="2026-11-02T00:00:00+00:00"), SHA.format(2))
    add_results(db, small_results(tmp_path, "early3", 3.0, created="2026-11-03T00:00:00+00:00"), SHA.format(2))
    series = to_series(read_rows(db, Filters(cells=("1x4",))))[0]
    assert series.commits == (SHA.format(2), SHA.format(1))
    assert len(series.runs_ms[0]) == 3 and series.values_ms[0] == pytest.approx(3 * series.values_ms[1])


def _ci_work(tmp_path: Path) -> Path:
    work = tmp_path / "ci"
    work.mkdir()
    (work / "candidate.json").write_text(TEXT.read_text())
    (work / "base.json").write_text(TEXT_B.read_text())
    return work


def test_report_options_default_to_the_method_and_the_parser_loads_no_numpy(tmp_path: Path):
    from shapeprof.cli import build_parser

    args = build_parser().parse_args(["history", "report", "-o", str(tmp_path)])
    assert Method(args.alpha, args.permutations, args.min_segment, args.min_change) == Method()
    code = "import sys, shapeprof.cli as c; c.build_parser(); print('numpy' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.stdout.strip() == "False", run.stderr


def test_ci_records_candidate_and_base_at_their_commits(tmp_path: Path):
    repo = _git_repo(tmp_path / "repo", commits=2)
    work = _ci_work(tmp_path)
    db = tmp_path / "h.sqlite"
    with open_history(db) as history:
        note = record_ci(history, work, "HEAD~1", False, repo)
    assert note.startswith("history: added") and note.count("added to") == 2
    sources = {r.source: r.commit for r in read_rows(db)}
    assert sources == {"ci-candidate": _git(repo, "rev-parse", "HEAD"),
                       "ci-base": _git(repo, "rev-parse", "HEAD~1")}
    a_a = tmp_path / "aa.sqlite"
    with open_history(a_a) as history:
        record_ci(history, work, "HEAD~1", True, repo)    # A/A: the base is the candidate
    assert summary(a_a)["runs"] == 1


def test_ci_opens_its_history_once(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch):
    """ci --history: checked before the run and written after it through one connection."""
    from types import SimpleNamespace

    from shapeprof import loading
    from shapeprof.regression import ci, history_db

    repo, work, db = _git_repo(tmp_path / "repo", commits=2), _ci_work(tmp_path), tmp_path / "h.sqlite"
    opened: list[Path] = []
    real_open = history_db._open
    monkeypatch.setattr(history_db, "_open", lambda path: opened.append(path) or real_open(path))
    monkeypatch.setattr(loading, "check_weights", lambda model: None)
    monkeypatch.setattr(loading, "require_preprocessor_files", lambda model: None)

    def fake_run_ci(*args: object, history: object = None, **kwargs: object) -> SimpleNamespace:
        note = record_ci(history, work, "HEAD~1", False, repo)
        return SimpleNamespace(report=note + "\n", comparison=SimpleNamespace(gate_failed=False))

    monkeypatch.setattr(ci, "run_ci", fake_run_ci)
    monkeypatch.chdir(ROOT)
    code, out, err = cli(capsys, "ci", "--history", str(db), "-q")
    assert code == 0 and out.count("added to") == 2, err
    assert opened == [db] and summary(db)["runs"] == 2


# ---- bad input ---------------------------------------------------------------------------------

def _bad_db(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.sqlite"
    if kind == "garbage":
        path.write_bytes(os.urandom(4096))
    elif kind == "truncated":
        add_results(path, TEXT, SHA.format(1))
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 3])
    elif kind == "foreign":
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE songs (title TEXT)")
    return path


@pytest.mark.parametrize(("kind", "words"), [("garbage", "not an SQLite database"),
                                             ("truncated", "corrupt"),
                                             ("foreign", "another program")])
def test_a_bad_database_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str,
                                           words: str):
    db = _bad_db(tmp_path, kind)
    before = db.read_bytes()
    for argv in (("show",), ("add", str(TEXT), "--commit", SHA.format(2)), ("report", "-o", str(tmp_path / "o"))):
        code, out, err = cli(capsys, "history", *argv, "--db", str(db))
        assert code == 2 and err.count("\n") == 1 and words in err and str(db) in err, (argv, err)
    assert db.read_bytes() == before and not (tmp_path / "o").exists()


def _results_with(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("content", "words"), [
    (json.dumps({"schema_version": 99, "cells": []}), "upgrade shapeprof"),
    (json.dumps({"schema_version": 1, "kind": "shapeprof.profile"}), "not benchmark results"),
    ("{not json", "not JSON"),
    (json.dumps({"schema_version": 3, "model": {}, "environment": {"cpu": "x"}, "cells": []}), "no benchmark cells"),
    (json.dumps({"schema_version": 3, "model": {}, "environment": {"cpu": "x"},
                 "cells": [{"variant": "onnx"}]}), "malformed cell"),
])
def test_a_bad_results_file_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               content: str, words: str):
    path = _results_with(tmp_path, content)
    db = tmp_path / "h.sqlite"
    code, _, err = cli(capsys, "history", "add", str(path), "--db", str(db), "--commit", SHA.format(1))
    assert code == 2 and err.count("\n") == 1 and words in err and str(path) in err, err
    assert not db.exists()


def test_other_bad_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)                                # not a git checkout
    code, _, err = cli(capsys, "history", "add", str(TEXT))
    assert code == 2 and "pass --commit" in err
    code, _, err = cli(capsys, "history", "add", str(TEXT), "--commit", "not-a-sha")
    assert code == 2 and "cannot resolve" in err
    code, _, err = cli(capsys, "history", "show", "--db", "missing.sqlite")
    assert code == 2 and "history add" in err and not Path("missing.sqlite").exists()
    assert cli(capsys, "history", "report", "-o", "x", "--alpha", "2")[0] == 2
    (tmp_path / "file").write_text("")
    add_results("h.sqlite", TEXT, SHA.format(1))
    code, _, err = cli(capsys, "history", "report", "--db", "h.sqlite", "-o", "file")
    assert code == 2 and "is a file" in err
    code, _, err = cli(capsys, "history", "add", str(TEXT), "--db", "h.sqlite", "--commit", SHA.format(2),
                       "--machine", "two words")
    assert code == 2 and "--machine 'two words' is not a name" in err
    with pytest.raises(HistoryError, match="no 'environment' record"):
        add_results("h.sqlite", small_results(tmp_path, "noenv", environment=None), SHA.format(3))


def test_ci_refuses_a_bad_history_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    db = _bad_db(tmp_path, "garbage")
    code, _, err = cli(capsys, "ci", "--history", str(db), "--work-dir", str(tmp_path / "w"), "-q")
    assert code == 2 and "not an SQLite database" in err and not (tmp_path / "w").exists()


# ---- helpers -----------------------------------------------------------------------------------

def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def _git_repo(path: Path, commits: int) -> Path:
    path.mkdir()
    _git(path, "init", "-q")
    for i in range(commits):
        (path / "f.txt").write_text(str(i))
        _git(path, "add", "f.txt")
        _git(path, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", f"c{i}")
    return path
