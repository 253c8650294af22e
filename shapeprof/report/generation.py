"""Generative models: time to first token against prompt length (prefill cells, the data's
prompt lengths under it) and ms per token against past length (decode cells), per batch size."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .data import Axis, curves
from .figures import Plot, errors, figure, to_svg
from .latency import draw_histogram

if TYPE_CHECKING:
    from ..bench.results import BenchResults

PANELS = (("prefill", "time to first token (ms)", "prompt length (tokens)", lambda c: c.sequence_length),
          ("decode", "ms per token (one decode step)", "past length (cached tokens)", lambda c: c.past_length))


def generation_plot(results: BenchResults, axis: Axis) -> Plot | None:
    panels = {phase: curves([c for c in results.cells if c.phase == phase], x_of)
              for phase, _, _, x_of in PANELS}
    if not any(panels.values()):
        return None
    shown = [p for p in PANELS if panels[p[0]]]
    rows = 2 if axis.histogram else 1
    with figure("generation", rows, len(shown), (4.6 * len(shown), 3.4 + 1.4 * (rows - 1)), sharex="col",
                gridspec_kw={"height_ratios": [3, 1][:rows]}) as (fig, axes):
        for ax, (phase, ylabel, xlabel, _) in zip(axes[0], shown):
            _draw(ax, panels[phase], ylabel, xlabel)
        if axis.histogram:
            draw_histogram(axes[1][0], Axis("prompt length", "prompt length (tokens)", histogram=axis.histogram))
            for ax in axes[1][1:]:
                ax.set_visible(False)
        svg = to_svg(fig)
    caption = ("Left: prefill (the prompt, empty cache), i.e. the time to first token; right: one decode "
               "step after the given number of cached tokens. Medians per call, bars: 95% interval.")
    if axis.histogram:
        caption += " Below: the profiled data's prompt lengths."
    table = (("phase", "variant", "batch", "length", "p50 ms", "95% low", "95% high"),
             tuple((phase, s["variant"], s["batch_size"], x, p, lo, hi) for phase, series in panels.items()
                   for s in series for x, p, lo, hi in zip(s["x"], s["p50_ms"], s["low_ms"], s["high_ms"])))
    data: dict[str, Any] = {**panels, "expected": [g.to_dict() for g in results.generation]}
    if axis.histogram:
        data["histogram"] = {"x": sorted(axis.histogram), "rows": [axis.histogram[k] for k in sorted(axis.histogram)]}
    return Plot("generation", "Generation: time to first token and ms per token", caption, svg, data, table)


def _draw(ax: Any, series: list[dict[str, Any]], ylabel: str, xlabel: str) -> None:
    several = len({s["variant"] for s in series}) > 1
    for s in series:
        name = f"{s['variant']} batch {s['batch_size']}" if several else f"batch {s['batch_size']}"
        ax.errorbar(s["x"], s["p50_ms"], yerr=errors(s["p50_ms"], s["low_ms"], s["high_ms"]), marker="o",
                    markersize=3, capsize=2, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
