"""``TuneOptions``: every option of ``shapeprof tune`` under one set of defaults, checked when built."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from ..errors import TuneError


@dataclass(frozen=True)
class Slo:
    """A latency objective per batch: its median (``p50``) or ``p99`` at most ``ms``."""

    ms: float
    percentile: str = "p50"

    def met(self, prediction: Any) -> bool:
        return self.value(prediction) <= self.ms

    def value(self, prediction: Any) -> float:
        return prediction.p99_ms if self.percentile == "p99" else prediction.p50_ms

    @property
    def label(self) -> str:
        return f"{self.percentile} <= {self.ms:g} ms per batch"


VARIANTS = ("onnx", "optimized", "int8", "static-int8", "optimized-int8", "optimized-static-int8",
            "optimized-fastgelu", "optimized-fastgelu-int8")
BASELINE_BATCH = 32           # "the usual way": pad-to-longest batches of 32 in data order
DEFAULT_WINDOW = 256
PROOF_ROUNDS = 12


@dataclass(frozen=True)
class TuneOptions:
    slo_ms: float | None = None                 # median latency per batch at most this
    slo_p99_ms: float | None = None             # p99 latency per batch at most this
    accuracy_data: str | None = None            # labelled data (default: the model kind's task)
    max_accuracy_drop: float = 0.5              # metric points (Spearman x 100, accuracy %, ...)
    window: int = DEFAULT_WINDOW                # requests a server sorts at once
    variants: tuple[str, ...] = VARIANTS
    max_batch: int = 256
    threads: int | None = None                  # cores to use (default: the physical cores)
    rounds: int = 2                             # rounds of interleaved cell timing
    proof_rounds: int = PROOF_ROUNDS            # paired winner/baseline replay rounds on held-out rows
    holdout: float = 0.5                        # share of the profiled rows kept for the proof
    accuracy_rows: int | None = None            # labelled rows scored (default: all)
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        if self.slo_ms is not None and self.slo_p99_ms is not None:
            raise TuneError("give --slo-ms (median per batch) or --slo-p99-ms, not both")
        for name in ("slo_ms", "slo_p99_ms"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise TuneError(f"--{name.replace('_', '-')} must be a positive number of ms, got {value!r}")
        if not (math.isfinite(self.max_accuracy_drop) and self.max_accuracy_drop >= 0):
            raise TuneError(f"--max-accuracy-drop must be >= 0 points, got {self.max_accuracy_drop!r}")
        self._check_counts()
        unknown = [v for v in self.variants if v not in VARIANTS]
        if unknown or not self.variants:
            raise TuneError(f"--variants: unknown {', '.join(map(repr, unknown)) or 'empty list'}; "
                            f"choose from {', '.join(VARIANTS)}")
        if not 0.0 < self.holdout < 1.0:
            raise TuneError(f"--holdout must be between 0 and 1 (a share of the rows), got {self.holdout!r}")

    def _check_counts(self) -> None:
        for name in ("window", "max_batch", "rounds", "proof_rounds"):
            if int(getattr(self, name)) < 1:
                raise TuneError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)!r}")
        if self.proof_rounds < 2:
            raise TuneError("--proof-rounds must be at least 2 (the speedup's interval needs 2 rounds)")
        if self.threads is not None and self.threads < 1:
            raise TuneError(f"--threads must be at least 1, got {self.threads!r}")

    @property
    def slo(self) -> Slo | None:
        if self.slo_ms is not None:
            return Slo(float(self.slo_ms), "p50")
        if self.slo_p99_ms is not None:
            return Slo(float(self.slo_p99_ms), "p99")
        return None

    def replace(self, **changes: Any) -> TuneOptions:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "variants": list(self.variants)}
