"""Compare two benchmark runs with sound statistics: verdicts per cell, gates on exact facts.

Importing this package is cheap (numpy and scipy load when a name below is used), so the CLI's
parsers can import its light modules (thresholds, changepoint_method) for their defaults.
"""

from __future__ import annotations

from shapeprof.lazy import lazy_getattr

_EXPORTS = {
    "CellComparison": "shapeprof.regression.compare",
    "Comparison": "shapeprof.regression.compare",
    "compare_files": "shapeprof.regression.compare",
    "compare_results": "shapeprof.regression.compare",
    "markdown_report": "shapeprof.regression.report",
    "Thresholds": "shapeprof.regression.thresholds",
    "load_thresholds": "shapeprof.regression.thresholds",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr('shapeprof.regression', _EXPORTS, globals())
