"""The history's findings: change points per series, as data and as markdown.

``find_changes`` reads the series that match the filters and runs the detector of
shapeprof.regression.changepoints on each; the HTML page (shapeprof.report.history) draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .changepoints import Detection, Method, detect, min_commits
from .history_query import Filters, Series, read_rows, to_series


@dataclass(frozen=True)
class Finding:
    series: Series
    detection: Detection


@dataclass(frozen=True)
class HistoryReport:
    db: str
    method: Method
    findings: tuple[Finding, ...]

    @property
    def changes(self) -> list[tuple[Finding, int]]:
        """(finding, index of a change) for every change point, slowdowns first."""
        found = [(f, i) for f in self.findings for i in range(len(f.detection.changes))]
        return sorted(found, key=lambda fi: -fi[0].detection.changes[fi[1]].ratio)

    @property
    def commits(self) -> int:
        return len({c for f in self.findings for c in f.series.commits})


def find_changes(db: str | Path, filters: Filters | None = None, method: Method | None = None
                 ) -> HistoryReport:
    """Every series matching ``filters`` and its change points under ``method``."""
    method = method or Method()
    series = to_series(read_rows(db, filters or Filters()))
    return HistoryReport(str(db), method, tuple(Finding(s, detect(s.values_ms, method)) for s in series))


def change_rows(report: HistoryReport) -> list[tuple[str, str, str, float, float, float, float]]:
    """(series, commit, previous commit, before ms, after ms, ratio, p) per change point."""
    rows = []
    for f, i in report.changes:
        c = f.detection.changes[i]
        commits = f.series.commits
        rows.append((f.series.label, commits[c.index], commits[c.index - 1], c.before_ms, c.after_ms,
                     c.ratio, c.p_value))
    return rows


def series_rows(report: HistoryReport) -> list[tuple[str, int, int, float, float, str, int]]:
    """(series, commits, runs, last value ms, noise %, smallest detectable step, changes)."""
    out = []
    for f in report.findings:
        s, d = f.series, f.detection
        step = f"{d.smallest_step:.3f}x" if d.smallest_step else "none: too few commits"
        out.append((s.label, len(s.commits), sum(len(r) for r in s.runs_ms), s.values_ms[-1],
                    100 * d.sigma, step, len(d.changes)))
    return out


def markdown(report: HistoryReport) -> str:
    """The change points (slowdowns first) with the commit where each happened, and the method."""
    lines = [f"## History: {len(report.findings)} series over {report.commits} commits ({report.db})", "",
             f"Method: {report.method.describe()}.", ""]
    rows = change_rows(report)
    if not rows:
        lines.append("No change point found.")
    else:
        lines += ["| series | changed at commit | last commit before | before ms | after ms | ratio | p |",
                  "|---|---|---|---:|---:|---:|---:|"]
        lines += [f"| {s} | {c[:12]} | {p[:12]} | {b:.4g} | {a:.4g} | {r:.3f}x "
                  f"({'slower' if r > 1 else 'faster'}) | {pv:.3g} |" for s, c, p, b, a, r, pv in rows]
    short = [r for r in series_rows(report) if r[5].startswith("none")]
    if short:
        need = min_commits(report.method)
        lines += ["", (f"{len(short)} of {len(report.findings)} series have too few commits for any "
                       f"change to be found (this method needs at least {need} for a clean step, "
                       "more with noise).")]
    return "\n".join(lines) + "\n"
