"""onnxruntime benchmark: sweep design, timing, results, expected latency on the data.

Importing this package is cheap; onnxruntime, torch and transformers load when used.
"""

from __future__ import annotations

from shapeprof.lazy import lazy_getattr

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


__getattr__ = lazy_getattr('shapeprof.bench', _EXPORTS, globals())
