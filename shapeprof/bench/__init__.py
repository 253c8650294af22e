"""onnxruntime benchmark: sweep design, timing, results, expected latency on the data.

Importing this package is cheap; onnxruntime, torch and transformers load when used.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "run_benchmark": "shapeprof.bench.benchmark",
    "run_media_benchmark": "shapeprof.bench.media",
    "BenchOptions": "shapeprof.bench.options",
    "BenchResults": "shapeprof.bench.results",
    "CellResult": "shapeprof.bench.results",
    "Cell": "shapeprof.bench.sweep",
    "design_sweep": "shapeprof.bench.sweep",
    "parse_int_list": "shapeprof.bench.sweep",
    "LatencyStats": "shapeprof.bench.stats",
    "summarize": "shapeprof.bench.stats",
    "LatencyModel": "shapeprof.bench.expected",
    "Policy": "shapeprof.bench.expected",
    "PolicyEstimate": "shapeprof.bench.expected",
    "estimate": "shapeprof.bench.expected",
    "ReplayResult": "shapeprof.bench.replay",
    "ProfileView": "shapeprof.bench.profile_view",
    "profile_view": "shapeprof.bench.profile_view",
    "VariantInfo": "shapeprof.bench.variants",
    "TimingPolicy": "shapeprof.bench.runner",
    "capture_environment": "shapeprof.bench.env",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shapeprof.bench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
