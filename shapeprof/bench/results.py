"""Benchmark results: frozen dataclasses, versioned JSON with raw samples, a tidy DataFrame.

Schema (``schema_version`` 4; history and migrations in shapeprof.schema): ``model``,
``settings``, ``environment``, ``variants`` (with their deviation from the reference), ``cells``
(one per cell x variant x runtime, raw samples in ms, ``round_sizes``; generation cells add
``phase`` prefill/decode and ``past_length``), ``expected`` (per padding policy), ``replays``
(predicted vs measured), ``generation`` (expected per request of a decoder), ``notes``; cells' ``cpu_samples_ms``
(the calling thread's CPU time per call, with one intra-op thread), ``reference`` (the reference
workload's raw samples per round, :mod:`.reference`; null when not timed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import schema
from ..atomic import write_json
from .decode import GenerationEstimate
from .generation_replay import GenerationReplay
from .requests import RequestEstimate
from .expected import PolicyEstimate
from .paired import PairedSpeedup, paired_speedup, round_medians
from .reference import ReferenceResult
from .replay import ReplayResult
from .stats import LatencyStats, summarize, throughput
from .variants import VariantInfo

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = schema.BENCH.version
MEMORY_NOTE = ("process_peak_rss_mib: the process's peak resident memory (VmHWM) while measuring the cell; "
               "session_growth_mib: that peak minus the RSS just before the cell, the memory this runtime "
               "newly needed at this shape (largest over rounds; near 0 once its arena holds the shape)")


@dataclass(frozen=True)
class CellResult:
    """One (cell, variant, runtime) measurement."""

    variant: str                   # onnx | optimized | int8 | optimized-int8 | pytorch
    runtime: str                   # onnxruntime | pytorch
    batch_size: int
    sequence_length: int
    input_source: str              # data | random
    samples_ms: tuple[float, ...]
    session_growth_mib: float | None = None    # peak RSS minus the RSS before the cell (MiB)
    rounds: int = 1
    phase: str = ""                # generation cells: prefill | decode
    past_length: int = 0           # cached tokens before this call (decode)
    round_sizes: tuple[int, ...] = ()   # samples per round, in order (pairs runtimes by round)
    process_peak_rss_mib: float | None = None   # the process's peak resident memory (MiB)
    cpu_samples_ms: tuple[float, ...] = ()      # the calling thread's CPU time per call (1 thread)

    @property
    def stats(self) -> LatencyStats:
        return summarize(self.samples_ms)

    @property
    def tokens(self) -> int:
        return self.batch_size * self.sequence_length

    @property
    def key(self) -> tuple[str, int, int, int]:
        """The cell, whatever the runtime: (phase, batch, length, past)."""
        return self.phase, self.batch_size, self.sequence_length, self.past_length

    def round_medians(self) -> np.ndarray | None:
        return round_medians(self.samples_ms, self.round_sizes)

    def to_dict(self) -> dict[str, Any]:
        return {"variant": self.variant, "runtime": self.runtime, "batch_size": self.batch_size,
                "sequence_length": self.sequence_length, "input_source": self.input_source,
                "stats_ms": self.stats.to_dict(), "process_peak_rss_mib": self.process_peak_rss_mib,
                "session_growth_mib": self.session_growth_mib,
                "rounds": self.rounds, "phase": self.phase, "past_length": self.past_length,
                "round_sizes": list(self.round_sizes), "samples_ms": list(self.samples_ms),
                "cpu_samples_ms": list(self.cpu_samples_ms)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CellResult:
        return cls(d["variant"], d["runtime"], int(d["batch_size"]), int(d["sequence_length"]),
                   d["input_source"], tuple(float(s) for s in d["samples_ms"]), d.get("session_growth_mib"),
                   int(d.get("rounds", 1)), d.get("phase") or "", int(d.get("past_length") or 0),
                   tuple(int(n) for n in d.get("round_sizes") or ()), d.get("process_peak_rss_mib"),
                   tuple(float(s) for s in d.get("cpu_samples_ms") or ()))


@dataclass(frozen=True)
class BenchResults:
    model: dict[str, Any]
    settings: dict[str, Any]
    environment: dict[str, Any]
    variants: tuple[VariantInfo, ...] = ()
    cells: tuple[CellResult, ...] = ()
    expected: tuple[PolicyEstimate, ...] = ()
    replays: tuple[ReplayResult, ...] = ()
    notes: tuple[str, ...] = ()
    created: str = ""
    schema_version: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)
    generation: tuple[GenerationEstimate, ...] = ()
    requests: tuple[RequestEstimate, ...] = ()            # per request over real pairs (decoders)
    generation_replays: tuple[GenerationReplay, ...] = ()  # real requests, predicted vs measured
    reference: ReferenceResult | None = None

    # ---- JSON -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": self.schema_version, "kind": "shapeprof.bench",
                "created": self.created, "model": self.model, "settings": self.settings,
                "environment": self.environment, "memory_note": MEMORY_NOTE,
                "variants": [v.to_dict() for v in self.variants],
                "cells": [c.to_dict() for c in self.cells],
                "expected": [e.to_dict() for e in self.expected],
                "replays": [r.to_dict() for r in self.replays],
                "generation": [g.to_dict() for g in self.generation],
                "requests": [r.to_dict() for r in self.requests],
                "generation_replays": [r.to_dict() for r in self.generation_replays],
                "notes": list(self.notes), "extra": self.extra,
                "reference": None if self.reference is None else self.reference.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BenchResults:
        d = schema.load("bench", d)               # checks the version, migrates older files
        version = d["schema_version"]
        return cls(d["model"], d["settings"], d["environment"],
                   tuple(VariantInfo.from_dict(v) for v in d.get("variants", ())),
                   tuple(CellResult.from_dict(c) for c in d.get("cells", ())),
                   tuple(PolicyEstimate(**e) for e in d.get("expected", ())),
                   tuple(ReplayResult.from_dict(r) for r in d.get("replays", ())),
                   tuple(d.get("notes", ())), d.get("created", ""), version, d.get("extra") or {},
                   tuple(GenerationEstimate(**g) for g in d.get("generation", ())),
                   tuple(RequestEstimate.from_dict(r) for r in d.get("requests") or ()),
                   tuple(GenerationReplay.from_dict(r) for r in d.get("generation_replays") or ()),
                   ReferenceResult.from_dict(d["reference"]) if d.get("reference") else None)

    def save(self, path: str | Path) -> Path:
        """Write the JSON atomically (temporary file, then rename)."""
        write_json(Path(path), self.to_dict())
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> BenchResults:
        return cls.from_dict(schema.load("bench", Path(path)))

    # ---- tables -------------------------------------------------------------------------------
    def to_dataframe(self) -> pd.DataFrame:
        """One row per cell x variant x runtime; speedups vs PyTorch and vs the exported graph.

        A speedup is paired by round where both cells recorded their rounds (geometric mean of
        per-round median ratios, ``_low``/``_high`` its 95% interval; see shapeprof.bench.paired),
        else the ratio of the two medians with no interval.
        """
        import pandas as pd

        rows = [_row(c) for c in self.cells]
        df = pd.DataFrame(rows, columns=list(_row_columns()))
        if df.empty:
            return df
        for ref in ("pytorch", "onnx"):
            base = {c.key: c for c in self.cells if c.variant == ref}
            found = [speedup(base.get(c.key), c) for c in self.cells]
            col = f"speedup_vs_{ref}"
            df[col] = [s.ratio for s in found]
            df[col + "_low"] = [s.low for s in found]
            df[col + "_high"] = [s.high for s in found]
        return df

    def to_csv(self, path: str | Path) -> Path:
        """The DataFrame as CSV, written atomically."""
        from ..atomic import atomic_file

        with atomic_file(Path(path)) as tmp:
            self.to_dataframe().to_csv(tmp, index=False)
        return Path(path)

    def write_all(self, directory: str | Path) -> dict[str, Path]:
        """bench.json, bench.csv, report.html (plots) and bench.md, which links to the report
        (names from ``shapeprof.layout``) in ``directory``, each written atomically; returns the
        paths by kind ("json", "csv", "html", "md"). Without matplotlib the report is left out
        and bench.md says why."""
        from ..atomic import atomic_file
        from ..errors import ReportError
        from ..layout import BENCH_CSV, BENCH_FILE, BENCH_SUMMARY, REPORT_HTML
        from ..report import write_report

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = {"json": self.save(directory / BENCH_FILE), "csv": self.to_csv(directory / BENCH_CSV)}
        try:
            paths["html"] = write_report(self, directory / REPORT_HTML)
            link = f"Plots of these results: [{REPORT_HTML}]({REPORT_HTML})"
        except ReportError as e:
            link = f"{REPORT_HTML} not written: {e}"
        with atomic_file(directory / BENCH_SUMMARY) as tmp:
            tmp.write_text(self.summary() + "\n\n" + link + "\n", encoding="utf-8")
        paths["md"] = directory / BENCH_SUMMARY
        return paths

    def expected_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([e.to_dict() for e in self.expected])

    def generation_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([g.to_dict() for g in self.generation])

    def replay_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in r.to_dict().items() if k != "passes_s"}
                             for r in self.replays])

    def cell(self, variant: str, batch_size: int, sequence_length: int, phase: str = "",
             past_length: int = 0) -> CellResult:
        key = (variant, batch_size, sequence_length, phase, past_length)
        for c in self.cells:
            if (c.variant, c.batch_size, c.sequence_length, c.phase, c.past_length) == key:
                return c
        raise KeyError(key)

    def summary(self) -> str:
        from .report import markdown_summary

        return markdown_summary(self)


def speedup(reference: CellResult | None, cell: CellResult) -> PairedSpeedup:
    """``cell`` against ``reference`` at the same shape: paired by round where both can be."""
    nan = float("nan")
    if reference is None:
        return PairedSpeedup(nan, nan, nan, 0)
    ref_rounds, rounds = reference.round_medians(), cell.round_medians()
    if ref_rounds is not None and rounds is not None and ref_rounds.size == rounds.size:
        return paired_speedup(ref_rounds, rounds)
    return PairedSpeedup(reference.stats.p50 / cell.stats.p50, nan, nan, 0)


def _row_columns() -> tuple[str, ...]:
    return ("variant", "runtime", "batch_size", "sequence_length", "phase", "past_length", "tokens",
            "input_source", "n",
            "p50_ms", "p90_ms", "p99_ms", "mean_ms", "std_ms", "min_ms", "sequences_per_s",
            "tokens_per_s", "process_peak_rss_mib", "session_growth_mib", "rounds")


def _row(c: CellResult) -> dict[str, Any]:
    s = c.stats
    seq_s, tok_s = throughput(c.batch_size, c.tokens, s.mean)
    return {"variant": c.variant, "runtime": c.runtime, "phase": c.phase, "batch_size": c.batch_size,
            "sequence_length": c.sequence_length, "past_length": c.past_length, "tokens": c.tokens,
            "input_source": c.input_source,
            "n": s.n, "p50_ms": s.p50, "p90_ms": s.p90, "p99_ms": s.p99, "mean_ms": s.mean,
            "std_ms": s.std, "min_ms": s.min, "sequences_per_s": seq_s, "tokens_per_s": tok_s,
            "process_peak_rss_mib": c.process_peak_rss_mib, "session_growth_mib": c.session_growth_mib,
            "rounds": c.rounds}
