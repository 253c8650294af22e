"""Compare two benchmark runs with sound statistics: verdicts per cell, gates on exact facts."""

from .compare import CellComparison, Comparison, compare_files, compare_results
from .report import markdown_report
from .thresholds import Thresholds, load_thresholds

__all__ = ["CellComparison", "Comparison", "Thresholds", "compare_files", "compare_results",
           "load_thresholds", "markdown_report"]
