"""The environment a benchmark ran in: CPU, cores, threads, library versions."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
from pathlib import Path
from typing import Any

PACKAGES = ("onnxruntime", "onnx", "torch", "transformers", "numpy")


def cpu_model() -> str:
    try:
        match = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    except OSError:
        match = None
    return match.group(1).strip() if match else (platform.processor() or platform.machine())


def version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def capture_environment(threads: int | None = None) -> dict[str, Any]:
    """CPU model, logical/physical/affinity cores, the threads used, versions, platform."""
    from .. import __version__
    from .runner import physical_cores

    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpu_model(), "logical_cores": os.cpu_count(), "physical_cores": physical_cores(),
        "usable_cores": affinity, "intra_op_threads": threads,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(), "platform": platform.platform(),
        "versions": {"shapeprof": __version__, **{p: version(p) for p in PACKAGES}},
    }
