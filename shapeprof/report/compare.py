"""A comparison of two runs: each matched cell's ratio (candidate / base) with its interval,
coloured by verdict, with the thresholds drawn in."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .figures import COLOURS, Plot, figure, to_svg

if TYPE_CHECKING:
    from ..regression.compare import Comparison


def comparison_plot(cmp: Comparison, base: str = "base", candidate: str = "candidate") -> Plot:
    cells = sorted(cmp.cells, key=lambda c: -_sortable(c.test.ratio))
    rows = [{"cell": c.label, "ratio": c.test.ratio, "low": c.test.low, "high": c.test.high,
             "p_value": c.test.p_value, "verdict": c.verdict, "base_ms": c.base_median_ms,
             "candidate_ms": c.cand_median_ms} for c in cells]
    with figure("comparison", size=(7.0, 0.2 * len(rows) + 1.6)) as (fig, axes):
        _draw(axes[0][0], rows, cmp)
        svg = to_svg(fig)
    t = cmp.thresholds
    caption = (f"{candidate} / {base}, median ratio per matched cell with its {t.confidence:.0%} interval "
               f"({'paired by round' if cmp.paired else 'separate runs'}); colour: the cell's verdict "
               f"(red regression, orange warning, green improvement, grey noise or same, purple not "
               f"resolvable). Dashed: the "
               f"warning ({t.warning_ratio:g}) and regression ({t.regression_ratio:g}) ratios.")
    table = (("cell", "base ms", "candidate ms", "ratio", "low", "high", "p", "verdict"),
             tuple((r["cell"], r["base_ms"], r["candidate_ms"], r["ratio"], r["low"], r["high"],
                    r["p_value"], r["verdict"]) for r in rows))
    return Plot("comparison", f"Comparison: {cmp.verdict}", caption, svg,
                {"verdict": cmp.verdict, "cells": rows}, table)


def _draw(ax: Any, rows: list[dict[str, Any]], cmp: Comparison) -> None:
    ok = [(i, r) for i, r in enumerate(rows) if not math.isnan(r["ratio"])]
    for i, r in ok:
        colour = COLOURS.get(r["verdict"], "#000000")
        if not (math.isnan(r["low"]) or math.isnan(r["high"])):
            ax.plot([r["low"], r["high"]], [i, i], color=colour, linewidth=1.5)
        ax.plot([r["ratio"]], [i], marker="o", markersize=4, color=colour)
    t = cmp.thresholds
    ax.axvline(1.0, color="black", linewidth=0.8)
    for x in (t.warning_ratio, t.regression_ratio, 1 / t.warning_ratio):
        ax.axvline(x, color="#999999", linewidth=0.7, linestyle="--")
    _legend(ax, [r["verdict"] for r in rows])
    ax.set_yticks(range(len(rows)), [r["cell"] for r in rows], fontsize=7)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel("candidate / base (median ratio)")
    ax.grid(axis="y", visible=False)


def _legend(ax: Any, verdicts: list[str]) -> None:
    from matplotlib.lines import Line2D

    shown = list(dict.fromkeys(verdicts))
    ax.legend([Line2D([], [], color=COLOURS.get(v, "#000000"), marker="o") for v in shown], shown,
              fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="verdict")


def _sortable(x: float) -> float:
    return -math.inf if math.isnan(x) else x
