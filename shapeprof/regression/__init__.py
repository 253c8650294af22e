"""Compare two benchmark runs with sound statistics: verdicts per cell, gates on exact facts.

Importing this package is cheap (numpy and scipy load when a name below is used), so the CLI's
parsers can import its light modules (thresholds, changepoint_method) for their defaults.
"""

from __future__ import annotations

import importlib
from typing import Any

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shapeprof.regression' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
