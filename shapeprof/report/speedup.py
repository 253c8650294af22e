"""onnxruntime against PyTorch per cell: the paired speedup with its interval, coloured by
whether the whole interval lies above 1 (faster), below 1 (slower) or holds 1 (tie)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..bench.paired import PairedSpeedup
from .data import Axis
from .figures import COLOURS, Plot, errors, figure, to_svg

if TYPE_CHECKING:
    from ..bench.results import BenchResults

MARKERS = "osD^v<>"


def speedup_plot(results: BenchResults, axis: Axis) -> Plot | None:
    series = _series(results, axis)
    if not series:
        return None
    cells = series[0]["cells"]
    with figure("speedup", size=(max(6.0, 0.32 * len(cells) + 2), 3.6)) as (fig, axes):
        ax = axes[0][0]
        for k, s in enumerate(series):
            _draw(ax, s, len(series), k)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(cells)), cells, rotation=60, fontsize=7)
        ax.set_ylabel("x PyTorch (PyTorch ms / onnxruntime ms)")
        ax.set_xlabel(f"cell (batch x {axis.noun})")
        ax.legend(fontsize=8)
        svg = to_svg(fig)
    caption = ("Speedup of each onnxruntime variant over PyTorch eager in every cell, paired by round "
               "(geometric mean of per-round median ratios; bars: 95% t interval). Green: faster "
               "(interval above 1), red: slower (below 1), grey: within noise.")
    table = (("variant", "cell", "x PyTorch", "95% low", "95% high", "verdict"),
             tuple((s["variant"], c, r, lo, hi, v) for s in series
                   for c, r, lo, hi, v in zip(s["cells"], s["ratio"], s["low"], s["high"], s["verdict"])))
    return Plot("speedup", "onnxruntime against PyTorch", caption, svg, {"series": series}, table)


def _series(results: BenchResults, axis: Axis) -> list[dict[str, Any]]:
    df = results.to_dataframe()
    if df.empty or "pytorch" not in set(df["variant"]):
        return []
    df = df[(df["runtime"] == "onnxruntime") & (df["phase"] == "") & df["speedup_vs_pytorch"].notna()]
    df = df.sort_values(["batch_size", "sequence_length"], kind="stable")
    out = []
    for variant, rows in df.groupby("variant", sort=False):
        tests = [PairedSpeedup(r.speedup_vs_pytorch, r.speedup_vs_pytorch_low, r.speedup_vs_pytorch_high,
                               r.rounds) for r in rows.itertuples()]
        out.append({"variant": variant,
                    "cells": [f"{r.batch_size}x{axis.tick(r.sequence_length)}" for r in rows.itertuples()],
                    "ratio": [t.ratio for t in tests], "low": [t.low for t in tests],
                    "high": [t.high for t in tests],
                    "verdict": [t.verdict if not math.isnan(t.low) else "tie" for t in tests]})
    return out


def _draw(ax: Any, s: dict[str, Any], count: int, k: int) -> None:
    shift = (k - (count - 1) / 2) * 0.15
    xs = [i + shift for i in range(len(s["cells"]))]
    yerr = errors(s["ratio"], s["low"], s["high"])
    ax.errorbar(xs, s["ratio"], yerr=yerr, fmt="none", ecolor="#999999", capsize=2, linewidth=0.8)
    ax.scatter(xs, s["ratio"], c=[COLOURS[v] for v in s["verdict"]], marker=MARKERS[k % len(MARKERS)],
               s=22, zorder=3, label=s["variant"], edgecolors="black", linewidths=0.3)
