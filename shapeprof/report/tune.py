"""The report's tune section: a ``shapeprof tune`` result's tables (accuracy against float32, the
ranked candidates with the baseline first, the recommendation, the proof on held-out rows), the
same content as its tune.md and tune.html, nested under the report's headings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..tune.result import TuneResult


def tune_section(result: TuneResult) -> str:
    """The section's HTML (its title an ``h2``, the tune's sections ``h3``)."""
    from ..tune.page import fragments
    from ..tune.report import markdown

    return "\n".join(fragments(markdown(result), shift=1))
