"""One plot of the page: matplotlib drawn to inline SVG, with the numbers it shows.

Every plot carries its data (``series``: plain JSON) beside the picture, so the page can show it
as a table and a test can check the picture was drawn from the results. matplotlib runs on the
Agg backend with no font downloads; text stays text in the SVG (``svg.fonttype: none``) and ids
are salted per figure so several SVGs share one page without clashing.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# verdict colours shared by the speedup and comparison plots (colour-blind friendly pairs)
COLOURS = {"faster": "#1a9850", "improvement": "#1a9850", "tie": "#7f7f7f", "same": "#bdbdbd",
           "noise": "#7f7f7f", "slower": "#d73027", "regression": "#d73027", "warning": "#fc8d59",
           "not comparable": "#000000", "not resolvable": "#9e9ac8"}
SVG_METADATA = ("Creator", "Date", "Format", "Type")     # None each: no RDF block, no date, no URLs
NAMESPACES = (' xmlns:xlink="http://www.w3.org/1999/xlink"', ' xmlns="http://www.w3.org/2000/svg"')
RC = {"svg.fonttype": "none", "font.family": "sans-serif", "font.size": 9, "axes.grid": True,
      "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False}


@dataclass(frozen=True)
class Plot:
    """A drawn figure: its id on the page, title, caption, SVG text and plotted data."""

    id: str
    title: str
    caption: str
    svg: str
    series: dict[str, Any] = field(default_factory=dict)
    table: tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]] = ((), ())   # header, rows


@contextmanager
def figure(plot_id: str, rows: int = 1, cols: int = 1, size: tuple[float, float] = (6.0, 3.2),
           **kwargs: Any) -> Iterator[tuple[Any, Any]]:
    """A matplotlib figure (Agg, the page's style) and its axes array, closed afterwards."""
    try:
        import matplotlib
    except ImportError as e:
        from ..errors import ReportError

        raise ReportError("the report's plots need matplotlib; pip install 'matplotlib>=3.8'") from e
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({**RC, "svg.hashsalt": plot_id}):
        fig, axes = plt.subplots(rows, cols, figsize=size, squeeze=False, layout="constrained", **kwargs)
        try:
            yield fig, axes
        finally:
            plt.close(fig)


def to_svg(fig: Any) -> str:
    """The figure as an ``<svg>`` element (no XML prolog, no metadata block)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata=dict.fromkeys(SVG_METADATA))
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    for namespace in NAMESPACES:     # HTML5 knows inline SVG's namespaces: the page names no URL
        text = text.replace(namespace, "", 1)
    return text


def clean(value: Any) -> Any:
    """JSON-safe numbers: nan and infinities become None, numpy scalars plain floats/ints."""
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def errors(y: Sequence[float], low: Sequence[float], high: Sequence[float]) -> list[list[float]]:
    """matplotlib's asymmetric error bars from an interval around ``y`` (0 where unknown)."""
    def gap(a: float, b: float) -> float:
        return 0.0 if a is None or b is None or math.isnan(a) or math.isnan(b) else abs(a - b)

    return [[gap(v, lo) for v, lo in zip(y, low)], [gap(hi, v) for v, hi in zip(y, high)]]
