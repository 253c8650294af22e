"""The HTML report: plots of a benchmark's results (and of a comparison), one self-contained page.

``report_html(results, comparison)`` builds the page, ``write_report`` writes it atomically. A
section appears only when the results hold its data: latency against the swept size (with the
data's length histogram), the batch x size heatmap, onnxruntime against PyTorch, expected
throughput per padding policy, the generation steps, and a comparison's ratios by verdict; a
``shapeprof tune`` result adds its tables (accuracy, candidates, recommendation, proof) as a section.
matplotlib is imported only when a page is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..bench.results import BenchResults
    from ..regression.compare import Comparison
    from ..tune.result import TuneResult
    from .figures import Plot

__all__ = ["plots", "report_html", "write_report"]


def plots(results: BenchResults, comparison: Comparison | None = None,
          names: tuple[str, str] = ("base", "candidate")) -> list[Plot]:
    """Every plot the results (and comparison) have data for, in page order."""
    from .compare import comparison_plot
    from .data import axis_of
    from .generation import generation_plot
    from .latency import heatmap_plot, latency_plot
    from .policies import policies_plot
    from .speedup import speedup_plot

    axis = axis_of(results)
    found = [comparison_plot(comparison, *names) if comparison is not None else None,
             latency_plot(results, axis), heatmap_plot(results, axis), speedup_plot(results, axis),
             policies_plot(results), generation_plot(results, axis)]
    return [p for p in found if p is not None]


def report_html(results: BenchResults, comparison: Comparison | None = None,
                names: tuple[str, str] = ("base", "candidate"), notes: Sequence[str] = (),
                tune: TuneResult | None = None) -> str:
    """The page as text (``names``: how the comparison calls its base and candidate; ``notes``:
    lines shown at the top, before the results' own notes; ``tune``: a ``shapeprof tune`` result,
    shown as the page's last section)."""
    from .page import render

    sections = []
    if tune is not None:
        from .tune import tune_section

        sections.append(("tune", "Tune", tune_section(tune)))
    return render(results, plots(results, comparison, names), comparison, names, tuple(notes), sections)


def write_report(results: BenchResults, path: str | Path, comparison: Comparison | None = None,
                 names: tuple[str, str] = ("base", "candidate"), notes: Sequence[str] = (),
                 tune: TuneResult | None = None) -> Path:
    """Write the page to ``path`` atomically (temporary file, then rename)."""
    from ..atomic import atomic_file
    from ..errors import ReportError

    text = report_html(results, comparison, names, notes, tune)
    with atomic_file(Path(path), ReportError) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)

