"""Latency against the swept size per batch size (with intervals, the data's histogram under
it) and the batch x size heatmap of medians."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..bench.report import fmt
from .data import Axis, curves, sweep_cells, variants
from .figures import Plot, errors, figure, to_svg

if TYPE_CHECKING:
    from ..bench.results import BenchResults


def latency_plot(results: BenchResults, axis: Axis) -> Plot | None:
    series = curves(sweep_cells(results))
    if not series:
        return None
    names = variants(series)
    rows = 2 if axis.histogram else 1
    with figure("latency", rows, len(names), (4.2 * len(names), 3.6 + 1.4 * (rows - 1)), sharex="col",
                sharey="row", gridspec_kw={"height_ratios": [3, 1][:rows]}) as (fig, axes):
        for col, name in enumerate(names):
            _curves(axes[0][col], [s for s in series if s["variant"] == name], axis, name)
            if axis.histogram:
                draw_histogram(axes[1][col], axis)
        svg = to_svg(fig)
    caption = (f"Median latency per call against {axis.noun}, one line per batch size; bars: 95% "
               "interval of the median (order statistics).")
    if axis.histogram:
        caption += f" Below: the profiled data's rows per {axis.noun} ({sum(axis.histogram.values())} rows)."
    data: dict[str, Any] = {"x_label": axis.label, "series": series}
    if axis.histogram:
        data["histogram"] = {"x": sorted(axis.histogram), "rows": [axis.histogram[k] for k in sorted(axis.histogram)]}
    table = (("variant", "batch", axis.noun, "p50 ms", "95% low", "95% high"),
             tuple((s["variant"], s["batch_size"], axis.tick(x), p, lo, hi) for s in series
                   for x, p, lo, hi in zip(s["x"], s["p50_ms"], s["low_ms"], s["high_ms"])))
    return Plot("latency", f"Latency against {axis.noun}", caption, svg, data, table)


def _curves(ax: Any, series: list[dict[str, Any]], axis: Axis, title: str) -> None:
    for s in series:
        ax.errorbar(s["x"], s["p50_ms"], yerr=errors(s["p50_ms"], s["low_ms"], s["high_ms"]), marker="o",
                    markersize=3, capsize=2, label=f"batch {s['batch_size']}")
    ax.set_title(title)
    ax.set_ylabel("median ms per call")
    ax.legend(fontsize=8)
    ax.set_xlabel(axis.label)
    if axis.ticks:
        xs = sorted({x for s in series for x in s["x"]})
        ax.set_xticks(xs, [axis.tick(x) for x in xs], rotation=45)


def draw_histogram(ax: Any, axis: Axis) -> None:
    xs = sorted(axis.histogram)
    ax.bar(xs, [axis.histogram[x] for x in xs], width=1.0, color="#9ecae1")
    ax.set_ylabel("rows")
    ax.set_xlabel(axis.label)


def heatmap_plot(results: BenchResults, axis: Axis) -> Plot | None:
    series = curves(sweep_cells(results))
    if not series:
        return None
    panels = [_grid([s for s in series if s["variant"] == name], name) for name in variants(series)]
    width = max(len(p["x"]) for p in panels)
    height = 0.45 * max(len(p["batch_sizes"]) for p in panels) + 1.6
    with figure("heatmap", len(panels), 1, (max(5.0, 0.6 * width + 2.5), height * len(panels))
                ) as (fig, axes):
        for ax, panel in zip(axes[:, 0], panels):
            _heatmap(ax, panel, axis)
        svg = to_svg(fig)
    caption = (f"Median ms per call for each batch size x {axis.noun}, one panel per variant; each "
               "cell is written in (blank: not measured).")
    xs = sorted({x for p in panels for x in p["x"]})
    table = (("variant", "batch", *[axis.tick(x) for x in xs]),
             tuple((p["variant"], b, *[dict(zip(p["x"], row)).get(x) for x in xs]) for p in panels
                   for b, row in zip(p["batch_sizes"], p["p50_ms"])))
    return Plot("heatmap", f"Batch x {axis.noun}", caption, svg, {"panels": panels}, table)


def _grid(series: list[dict[str, Any]], name: str) -> dict[str, Any]:
    xs = sorted({x for s in series for x in s["x"]})
    batches = sorted(s["batch_size"] for s in series)
    by = {(s["batch_size"], x): p for s in series for x, p in zip(s["x"], s["p50_ms"])}
    return {"variant": name, "batch_sizes": batches, "x": xs,
            "p50_ms": [[by.get((b, x)) for x in xs] for b in batches]}


def _heatmap(ax: Any, panel: dict[str, Any], axis: Axis) -> None:
    import numpy as np

    grid = np.array([[np.nan if v is None else v for v in row] for row in panel["p50_ms"]], dtype=float)
    image = ax.imshow(np.ma.masked_invalid(grid), cmap="viridis", aspect="auto", origin="lower")
    middle = np.nanmean(grid)
    for (i, j), value in np.ndenumerate(grid):
        if not np.isnan(value):
            ax.text(j, i, fmt(float(value)), ha="center", va="center", fontsize=7,
                    color="white" if value < middle else "black")
    ax.set_xticks(range(len(panel["x"])), [axis.tick(x) for x in panel["x"]], rotation=45)
    ax.set_yticks(range(len(panel["batch_sizes"])), [str(b) for b in panel["batch_sizes"]])
    ax.set_xlabel(axis.label)
    ax.set_ylabel("batch size")
    ax.set_title(panel["variant"])
    ax.grid(False)
    ax.figure.colorbar(image, ax=ax, label="median ms")
