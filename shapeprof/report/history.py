"""The history page: each series over commits, its level between change points, and the change
points with the commit where each happened (one self-contained HTML page, like report.html).

A series with a change point is always drawn; the others are drawn while the page holds at most
``MAX_PLOTS`` figures, and listed in the series table either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .figures import COLOURS, Plot, figure, to_svg

if TYPE_CHECKING:
    from ..regression.history_report import Finding, HistoryReport

MAX_PLOTS = 24
MAX_TICKS = 16


def series_plot(finding: Finding, number: int) -> Plot:
    """One series: rounds (faint), runs (dots), the per-commit value (line), the segments' level
    (red steps) and a dashed line at each change point."""
    s, d = finding.series, finding.detection
    with figure(f"history-{number}", size=(7.0, 2.8)) as (fig, axes):
        _draw(axes[0][0], finding)
        svg = to_svg(fig)
    steps = ", ".join(f"{s.commits[c.index][:10]} ({c.ratio:.3f}x)" for c in d.changes) or "none"
    caption = (f"Median latency per commit (line; dots: each run's median; faint: each round's "
               f"median), red: the level between change points. Change points: {steps}. Noise "
               f"{100 * d.sigma:.1f}% per commit.")
    series = {"label": s.label, "commits": list(s.commits), "values_ms": list(s.values_ms),
              "runs_ms": [list(r) for r in s.runs_ms],
              "segments": [list(seg) for seg in d.segments],
              "changes": [{"commit": s.commits[c.index], "index": c.index, "before_ms": c.before_ms,
                           "after_ms": c.after_ms, "ratio": c.ratio, "p_value": c.p_value}
                          for c in d.changes]}
    level = {i: m for a, b, m in d.segments for i in range(a, b)}
    table = (("commit", "median ms", "runs", "level ms"),
             tuple((c[:12], v, len(r), level.get(i)) for i, (c, v, r)
                   in enumerate(zip(s.commits, s.values_ms, s.runs_ms))))
    return Plot(f"series-{number}", s.label, caption, svg, series, table)


def _draw(ax: Any, finding: Finding) -> None:
    s, d = finding.series, finding.detection
    x = range(len(s.commits))
    for i, rounds in enumerate(s.rounds_ms):
        ax.plot([i] * len(rounds), rounds, ".", color="#bbbbbb", markersize=3)
    for i, runs in enumerate(s.runs_ms):
        ax.plot([i] * len(runs), runs, "o", color="#4575b4", markersize=3, alpha=0.6)
    ax.plot(list(x), s.values_ms, "-", color="#222222", linewidth=1)
    for a, b, m in d.segments:
        ax.plot([a - 0.4, b - 0.6], [m, m], color=COLOURS["regression"], linewidth=2)
    for c in d.changes:
        ax.axvline(c.index - 0.5, color=COLOURS["regression"], linestyle="--", linewidth=0.8)
    step = max(1, len(s.commits) // MAX_TICKS + (len(s.commits) % MAX_TICKS > 0))
    ticks = sorted(set(range(0, len(s.commits), step)) | {c.index for c in d.changes})
    ax.set_xticks(ticks, [s.commits[i][:8] for i in ticks], rotation=45, ha="right", fontsize=7)
    ax.set_xlim(-0.6, len(s.commits) - 0.4)
    ax.set_xlabel("commit (in order)")
    ax.set_ylabel("latency (ms)")


def history_html(report: HistoryReport) -> str:
    """The page as text."""
    from ..regression.history_report import change_rows, series_rows
    from .page import document, escape, section, table

    changed = [f for f in report.findings if f.detection.changes]
    quiet = [f for f in report.findings if not f.detection.changes]
    drawn = changed + quiet[:max(0, MAX_PLOTS - len(changed))]
    plots = [series_plot(f, i) for i, f in enumerate(drawn)]
    title = f"shapeprof history: {len(report.findings)} series over {report.commits} commits"
    meta = f'<p class="meta">{escape(report.db)}; method: {escape(report.method.describe())}</p>'
    body = [f"<h1>{escape(title)}</h1>", meta, "<h2>Change points</h2>"]
    rows = [(s, c[:12], p[:12], b, a, f"{r:.3f}x", pv) for s, c, p, b, a, r, pv in change_rows(report)]
    header = ("series", "changed at commit", "last commit before", "before ms", "after ms", "ratio", "p")
    body.append(table(header, rows) if rows else "<p>No change point found.</p>")
    body += ["<h2>Series</h2>", table(("series", "commits", "runs", "last ms", "noise %",
                                       "smallest step found half the time", "changes"), series_rows(report))]
    if len(drawn) < len(report.findings):
        body.append(f'<p class="note">{len(report.findings) - len(drawn)} series without a change point '
                    "are not drawn; pass --model, --variant or --cell to draw them.</p>")
    body += [section(p) for p in plots]
    return document(title, body)


def write_history(report: HistoryReport, directory: str | Path) -> dict[Path, str]:
    """history.html and history.md in ``directory``, both built before either is written; each
    written path and its text."""
    from ..atomic import atomic_file
    from ..errors import HistoryError
    from ..layout import HISTORY_HTML, HISTORY_MD
    from ..regression.history_report import markdown

    directory = Path(directory)
    texts = {directory / HISTORY_HTML: history_html(report), directory / HISTORY_MD: markdown(report)}
    for path, text in texts.items():
        with atomic_file(path, HistoryError) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return texts
