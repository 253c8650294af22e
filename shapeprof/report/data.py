"""The numbers the plots show, read from BenchResults: curves per variant and batch size, with
a 95% interval of each cell's median, and the x axis a modality measures cells along."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..bench.stats import median_interval

if TYPE_CHECKING:
    from ..bench.results import BenchResults, CellResult


@dataclass(frozen=True)
class Axis:
    """What a sweep cell's ``sequence_length`` means for this modality, and how to label it."""

    noun: str                                  # "sequence length", "image size", "audio length"
    label: str                                 # the axis label, with its unit
    ticks: dict[int, str] = field(default_factory=dict)     # x -> "HxW" for images
    histogram: dict[int, int] = field(default_factory=dict)  # the data's rows per length (text)

    def tick(self, x: int) -> str:
        return self.ticks.get(x, str(x))


def axis_of(results: BenchResults) -> Axis:
    settings = results.settings
    modality = settings.get("modality")
    if modality == "image":
        ticks = {h * w: f"{h}x{w}" for _, h, w in settings.get("cells", ())}
        return Axis("image size", "image size (pixels, shown as HxW)", ticks)
    if modality == "audio":
        return Axis("audio length", "audio length (samples)")
    counts = ((settings.get("profile") or {}).get("length_counts")) or {}
    return Axis("sequence length", "sequence length (tokens)",
                histogram={int(k): int(v) for k, v in counts.items()})


def sweep_cells(results: BenchResults) -> list[CellResult]:
    """The batch x length cells (not the prefill/decode steps of a generation run)."""
    return [c for c in results.cells if not c.phase]


def curves(cells: Iterable[CellResult], x_of: Callable[[CellResult], int] = lambda c: c.sequence_length
           ) -> list[dict[str, Any]]:
    """One series per (variant, batch size): x, median ms and its 95% interval, sorted by x."""
    groups: dict[tuple[str, int], list[CellResult]] = {}
    for c in cells:
        groups.setdefault((c.variant, c.batch_size), []).append(c)
    out = []
    for (variant, batch), members in groups.items():
        members.sort(key=x_of)
        bounds = [median_interval(c.samples_ms) for c in members]
        out.append({"variant": variant, "batch_size": batch, "x": [x_of(c) for c in members],
                    "p50_ms": [c.stats.p50 for c in members], "low_ms": [lo for lo, _ in bounds],
                    "high_ms": [hi for _, hi in bounds]})
    return out


def variants(series: Iterable[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(s["variant"] for s in series))
