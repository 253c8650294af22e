"""Timing: onnxruntime sessions, warm-up, and sampling until enough samples AND enough time.

``SessionSettings.flush_denormals`` turns on onnxruntime's ``session.set_denormal_as_zero``;
the calling thread, which runs PyTorch and takes part in every onnxruntime call, is set the same
way (``calling_thread_denormals``), so both runtimes run under one setting.

A sample is the wall time (``time.perf_counter``) of one call on a fixed batch, outputs
included. Memory, per cell: the process's peak resident set size (VmHWM) while measuring it,
and the session's own growth, that peak minus the RSS just before (what this runtime newly
needed at this shape; near 0 once its arena holds the shape). Linux's peak counter is reset per
cell through ``/proc/self/clear_refs`` (where that is not allowed the process-wide peak is used).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import BenchError

# Timing defaults (also BenchOptions'): enough for a quick look on a shared machine.
WARMUP = 3
MIN_SAMPLES = 4
MIN_TIME_S = 0.1

GRAPH_OPTIMIZATION = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC",
                      "extended": "ORT_ENABLE_EXTENDED", "all": "ORT_ENABLE_ALL"}


@dataclass(frozen=True)
class TimingPolicy:
    """How long to measure a cell."""

    warmup: int = WARMUP
    min_samples: int = MIN_SAMPLES
    min_time_s: float = MIN_TIME_S
    max_samples: int = 10_000

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SessionSettings:
    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    graph_optimization: str = "all"
    intra_op_threads: int = 1
    inter_op_threads: int = 1
    flush_denormals: bool = True      # onnxruntime's session.set_denormal_as_zero


    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "providers": list(self.providers)}


def physical_cores() -> int:
    """Physical cores from /proc/cpuinfo (core id per package), else the logical count."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return os.cpu_count() or 1
    cores = set(re.findall(r"physical id\s*:\s*(\d+)[\s\S]*?core id\s*:\s*(\d+)", text))
    return len(cores) or os.cpu_count() or 1


def thread_flushes_denormals() -> bool:
    """Whether the calling thread flushes denormal floats to zero (FTZ/DAZ in its MXCSR): numpy
    float32 arithmetic runs on this thread, and a denormal times one comes out zero only then."""
    import numpy as np

    tiny = np.array([1e-39], dtype=np.float32)       # below float32's smallest normal, 1.18e-38
    return bool((tiny * np.float32(1.0))[0] == 0.0)


@contextmanager
def calling_thread_denormals(flush: bool) -> Iterator[None]:
    """The calling thread flushes denormals inside the block exactly when ``flush``, as the
    sessions' own threads do with ``flush_denormals``; its previous state comes back after.

    This thread runs PyTorch eager and also takes part in every onnxruntime ``run``. onnxruntime
    sets its flag on the threads of each session's pool, but on the calling thread only as the
    process's first session left it, so the state is set here explicitly, both ways.
    """
    import torch

    before = thread_flushes_denormals()
    torch.set_flush_denormal(flush)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


def make_session(path: str | Path | bytes, settings: SessionSettings) -> Any:
    """An onnxruntime session with the given providers, optimisation level and threads
    (``path`` may also be a serialised model)."""
    import onnxruntime as ort

    if settings.graph_optimization not in GRAPH_OPTIMIZATION:
        raise BenchError(f"unknown graph optimisation {settings.graph_optimization!r}; choose one of "
                         f"{', '.join(GRAPH_OPTIMIZATION)}")
    available = ort.get_available_providers()
    missing = [p for p in settings.providers if p not in available]
    if missing:
        raise BenchError(f"execution provider {missing[0]} is not available in this onnxruntime; "
                         f"available: {', '.join(available)}")
    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel,
                                               GRAPH_OPTIMIZATION[settings.graph_optimization])
    options.intra_op_num_threads = settings.intra_op_threads
    options.inter_op_num_threads = settings.inter_op_threads
    options.log_severity_level = 3
    if settings.flush_denormals:
        options.add_session_config_entry("session.set_denormal_as_zero", "1")
    source = path if isinstance(path, bytes) else str(path)
    try:
        return ort.InferenceSession(source, options, providers=list(settings.providers))
    except Exception as e:  # onnxruntime raises its own exception types
        where = "the reference graph" if isinstance(path, bytes) else repr(str(path))
        raise BenchError(f"onnxruntime cannot load {where}: {str(e).splitlines()[0][:300]}; "
                         "re-export the model") from e


def collect_samples(call: Callable[[], Any], policy: TimingPolicy) -> list[float]:
    """Warm up, then time ``call`` until both ``min_samples`` and ``min_time_s`` are reached (ms)."""
    return collect_timed(call, policy, cpu=False)[0]


def collect_timed(call: Callable[[], Any], policy: TimingPolicy, reset: Callable[[], None] | None = None,
                  every: int = 1, cpu: bool = True) -> tuple[list[float], list[float]]:
    """As :func:`collect_samples`, with the calling thread's CPU time of each call too (ms) when
    ``cpu`` (else the second list is empty and the CPU clock is never read).

    With one intra-op thread onnxruntime computes on the calling thread, so its CPU time is the
    call's work without the time the thread spent preempted by other processes. The CPU clock
    is read outside the wall clock's interval, so wall samples time the call alone either way.
    ``reset``, when given, runs untimed before the first call and then before every ``every``-th
    sample (a decode cell's step chain starts again there).
    """
    for i in range(policy.warmup):
        if reset is not None and i % every == 0:
            reset()
        call()
    samples: list[float] = []
    cpu_ms: list[float] = []
    clock, thread_clock = time.perf_counter, time.thread_time
    start = clock()
    while len(samples) < policy.max_samples:
        if reset is not None and len(samples) % every == 0:
            reset()
        c0 = thread_clock() if cpu else 0.0
        t0 = clock()
        call()
        t1 = clock()
        if cpu:
            cpu_ms.append((thread_clock() - c0) * 1000.0)
        samples.append((t1 - t0) * 1000.0)
        if len(samples) >= policy.min_samples and t1 - start >= policy.min_time_s:
            break
    return samples, cpu_ms


def ort_call(session: Any, feeds: dict[str, Any], output_names: Sequence[str] | None = None
             ) -> Callable[[], Any]:
    names = list(output_names) if output_names else None
    return lambda: session.run(names, feeds)


# ---- memory ------------------------------------------------------------------------------
def _status_kb(key: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"{key}:\s+(\d+)", text)
    return int(match.group(1)) if match else None


class PeakMemory:
    """During a ``with`` block: the process's peak RSS (``peak_mib``) and its growth over the RSS
    at the start (``growth_mib``), in MiB; None where /proc is unavailable."""

    def __enter__(self) -> PeakMemory:
        try:
            Path("/proc/self/clear_refs").write_text("5")   # reset VmHWM to the current RSS
        except OSError:
            pass
        self.before = _status_kb("VmRSS")
        self.peak_mib: float | None = None
        self.growth_mib: float | None = None
        return self

    def __exit__(self, *exc: object) -> None:
        peak = _status_kb("VmHWM")
        if peak is not None:
            self.peak_mib = peak / 1024.0
        if self.before is not None and peak is not None:
            self.growth_mib = max(0, peak - self.before) / 1024.0

    @property
    def both(self) -> tuple[float | None, float | None]:
        """(process peak, session growth) in MiB."""
        return self.peak_mib, self.growth_mib
