"""CI mode: benchmark the working tree against a base revision in one job, then compare.

Both revisions export the model with their own code (the base from a temporary
``git worktree``); the two exports are then timed by the candidate's harness in
interleaved rounds (base, candidate, base, ...) so machine load hits both alike. Timings gate
by default in every cell whose paired interval can resolve the threshold; the cells that cannot
are "not resolvable", named at the top of the report, and only exact facts gate for them.
An explicit base revision must exist (checked before any work). Without the default
base (first commit, shallow clone) or when the base cannot export, the candidate is
compared with itself (an A/A run) and the top of the report says so and why.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import atomic_file, check_creatable
from ..errors import CompareError, ConfigError
from ..layout import REPORT_HTML, REPORT_MD
from .compare import Comparison, compare_results
from .report import markdown_report
from .runsets import INTERLEAVED
from .thresholds import Thresholds, thresholds_from_mapping

if TYPE_CHECKING:
    from .history import OpenHistory

CODE_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BASE_REV = "HEAD~1"   # the parent; A/A (with a note) when it does not exist
EXPORT_WORK = 2               # an export's weight against one side's benchmark round (ETAs)


@dataclasses.dataclass(frozen=True)
class CiResult:
    comparison: Comparison
    report: str
    notes: tuple[str, ...]


def run_ci(spec: Any, base_rev: str | None = None, work_dir: str | Path = "out/ci",
           rounds: int | None = None, gate_timings: bool = True, progress: bool = False,
           history: OpenHistory | None = None) -> CiResult:
    """Export with base and candidate code, bench both interleaved, compare (see module doc).

    ``base_rev`` None means the parent commit, falling back to A/A when there is none; a
    revision given explicitly must exist (ConfigError before any work). ``gate_timings`` False
    shows timings without gating them. ``progress`` shows the two exports and the benchmark
    rounds on stderr. ``history``: an open history database the results are added to
    (``shapeprof.regression.history.open_history``, opened before the run so that a bad one
    stops it before any work, and not opened again).
    """
    from ..console import progress as progress_bar
    from ..profile import profile_dataset

    if base_rev is not None:
        check_base_rev(base_rev)
    rev = base_rev or DEFAULT_BASE_REV
    check_creatable(Path(work_dir), ConfigError, f"work directory {str(work_dir)!r}")
    work = Path(work_dir).resolve()   # the base exports from inside its worktree
    work.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    model, task = _model_and_task(spec)
    data = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.data.items()}
    profile = profile_dataset(model, spec.dataset, progress=False, **data)
    rounds = rounds or spec.timing.get("rounds", 3)
    with progress_bar(EXPORT_WORK * 2 + 2 * max(1, rounds), "ci", enabled=progress, percent=True) as bar:
        bar.set_now("exporting with the candidate's code")
        candidate = _export(CODE_ROOT, model, task, work / "candidate-model")
        bar.update(EXPORT_WORK, now=f"exporting with the base's code ({rev})")
        with _base_tree(rev, notes) as base_root:
            base = _export(base_root, model, task, work / "base-model", notes) if base_root else None
        bar.update(EXPORT_WORK)
        if base is None:
            notes.insert(0, "A/A run: the candidate was compared with itself, so the timings show only "
                            "the harness's noise")
            base = candidate
        runs = _interleaved(base, candidate, profile, spec, rounds, bar)
    for which, results in zip(("base", "candidate"), runs):
        results.save(work / f"{which}.json")
    if history is not None:
        from .history import record_ci

        notes.append(record_ci(history, work, rev, base is candidate, CODE_ROOT))
    t = thresholds_from_mapping(spec.thresholds, "thresholds") if spec.thresholds else Thresholds()
    comparison = compare_results(runs[0].to_dict(), runs[1].to_dict(), thresholds=t,
                                 timings_gate=gate_timings, paired=True)
    report = "".join(f"> **note**: {n}\n" for n in notes) + ("\n" if notes else "")
    report += markdown_report(comparison, f"base ({rev})", "candidate (working tree)")
    if not gate_timings:
        report += "- timings are informational here (--timings-informational); exact facts gate.\n"
    report += _html_report(runs[1], comparison, work, (f"base ({rev})", "candidate (working tree)"), notes)
    with atomic_file(work / REPORT_MD, ConfigError) as tmp:
        tmp.write_text(report, encoding="utf-8")
    return CiResult(comparison, report, tuple(notes))


def _html_report(candidate: Any, comparison: Comparison, work: Path, names: tuple[str, str],
                 notes: list[str]) -> str:
    """report.html beside report.md (the candidate's plots and the comparison); the line linking it."""
    from ..errors import ReportError
    from ..report import write_report

    try:
        write_report(candidate, work / REPORT_HTML, comparison, names, notes)
    except ReportError as e:
        return f"- {REPORT_HTML} not written: {e}\n"
    return f"- plots: [{REPORT_HTML}]({REPORT_HTML})\n"


def check_base_rev(rev: str) -> None:
    """An explicit base revision must name a commit of this repository."""
    if not rev.strip() or rev.startswith("-"):
        raise ConfigError(f"--base-rev {rev!r} is not a revision; give a commit, branch or tag")
    try:
        found = subprocess.run(["git", "-C", str(CODE_ROOT), "rev-parse", "--verify", "--quiet",
                                f"{rev}^{{commit}}"], capture_output=True, text=True)
    except OSError as e:
        raise ConfigError(f"--base-rev needs git, which cannot run here ({e.strerror})") from e
    if found.returncode != 0:
        raise ConfigError(f"--base-rev {rev!r} is not a commit of the repository at {str(CODE_ROOT)!r}; "
                          "give an existing commit, branch or tag (git log --oneline), or fetch "
                          "more history in a shallow clone")


def _model_and_task(spec: Any) -> tuple[str, str]:
    from ..default_model import default_model_dir

    return str(spec.model or default_model_dir()), spec.task or "feature-extraction"


@contextlib.contextmanager
def _base_tree(rev: str, notes: list[str]) -> Iterator[Path | None]:
    """A detached worktree of ``rev``, removed afterwards; None (with a note) when unavailable."""
    git = ["git", "-C", str(CODE_ROOT)]
    try:
        check = subprocess.run([*git, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                               capture_output=True, text=True)
    except OSError:  # no git
        check = subprocess.CompletedProcess([], 1)
    if check.returncode != 0:
        notes.append(f"no base revision {rev!r} in this clone (first commit or shallow clone)")
        yield None
        return
    tmp = Path(tempfile.mkdtemp(prefix="shapeprof-base-"))
    tree = tmp / "tree"
    added = subprocess.run([*git, "worktree", "add", "--detach", str(tree), rev],
                           capture_output=True, text=True)
    try:
        if added.returncode != 0:
            notes.append(f"cannot check out {rev!r}: {added.stderr.strip().splitlines()[-1:]}")
            yield None
        else:
            yield tree
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(tree)], capture_output=True)
        subprocess.run(["rm", "-rf", str(tmp)], capture_output=True)


def _export(code_root: Path, model: str, task: str, out: Path, notes: list[str] | None = None
            ) -> Path | None:
    """``shapeprof export`` with the code in ``code_root``, in a subprocess."""
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    cmd = [sys.executable, "-m", "shapeprof", "export", "--model", model, "--task", task,
           "--overwrite", str(out)]     # its progress goes to the captured stderr
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(code_root))
    if proc.returncode == 0:
        return out
    last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    if notes is None:
        raise CompareError(f"the candidate cannot export {model!r}: {last}")
    notes.append(f"the base revision cannot export the model ({last})")
    return None


def _interleaved(base: Path, candidate: Path, profile: Any, spec: Any, rounds: int, bar: Any = None
                 ) -> list[Any]:
    """Each round times base and candidate back to back, the order alternating from round to
    round; each side's samples are merged per cell, one block per round (paired by round)."""
    from ..bench.benchmark import run_benchmark

    options = spec.bench_options().replace(rounds=1, replay_rows=0, progress=False)
    merged: list[Any] = [None, None]
    for r in range(max(1, rounds)):
        for i in ((0, 1) if r % 2 == 0 else (1, 0)):
            model_dir = (base, candidate)[i]
            if bar is not None:
                bar.set_now(f"round {r + 1}/{max(1, rounds)}, {('base', 'candidate')[i]}")
            results = run_benchmark(model_dir, profile, options)
            if bar is not None:
                bar.update(1)
            merged[i] = results if merged[i] is None else _merge(merged[i], results)
    return [dataclasses.replace(r, extra={**r.extra, INTERLEAVED: True}) for r in merged]


def _joined(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, ...]:
    """CPU samples of two blocks, or none when a block has none (they must align with the wall)."""
    return a + b if a and b else ()


def _merge(acc: Any, more: Any) -> Any:
    by_key = {(c.variant, c.key): c for c in more.cells}
    cells = []
    for c in acc.cells:
        m = by_key[c.variant, c.key]
        cells.append(dataclasses.replace(c, samples_ms=c.samples_ms + m.samples_ms,
                                         rounds=c.rounds + m.rounds,
                                         round_sizes=c.round_sizes + m.round_sizes,
                                         cpu_samples_ms=_joined(c.cpu_samples_ms, m.cpu_samples_ms)))
    ref = acc.reference
    if ref is not None and more.reference is not None:
        ref = dataclasses.replace(ref, samples_ms=ref.samples_ms + more.reference.samples_ms,
                                  round_sizes=ref.round_sizes + more.reference.round_sizes)
    return dataclasses.replace(acc, cells=tuple(cells), reference=ref)
