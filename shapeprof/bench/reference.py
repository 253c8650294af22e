"""The reference workload: a fixed ONNX graph timed in every round of every run.

The graph (a BERT-shaped encoder, ``reference_encoder``), its input and the session settings
are fixed, so its latency changes only with the machine's state (frequency, load, cache
pressure). ``compare`` can divide a cell's round lower quartile by the reference's in the same
round, which cancels the part of the drift between two runs that hits both alike (see
shapeprof.regression.stats). A slice of reference samples follows every cell of a round, so a
round's reference spans that round's whole duration. Each slice runs for a fixed time
(``SLICE``), not a fixed count. The first design (3 calls of a chain of 1024-wide GEMMs) was
noisier than the drift it was meant to cancel; 50 ms of it cancelled little, since GEMMs drift
unlike a transformer's cells; the encoder did (``benchmarks/reference_candidates.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .paired import round_medians
from .reference_encoder import SHAPE, encoder_input, encoder_model
from .runner import SessionSettings, TimingPolicy, collect_samples, make_session

SLICE = TimingPolicy(warmup=1, min_samples=3, min_time_s=0.05)    # after each cell
WORKLOAD = (f"onnxruntime graph: {SHAPE}, float32, seed 0, the run's session settings, "
            f"{SLICE.min_time_s * 1000:.0f} ms after each cell")


@dataclass(frozen=True)
class ReferenceResult:
    """The reference's raw samples (ms), in rounds like a cell's."""

    workload: str
    samples_ms: tuple[float, ...]
    round_sizes: tuple[int, ...]

    def round_medians(self) -> np.ndarray | None:
        return round_medians(self.samples_ms, self.round_sizes)

    def to_dict(self) -> dict[str, Any]:
        return {"workload": self.workload, "samples_ms": list(self.samples_ms),
                "round_sizes": list(self.round_sizes)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReferenceResult:
        return cls(str(d["workload"]), tuple(float(s) for s in d["samples_ms"]),
                   tuple(int(n) for n in d["round_sizes"]))


@dataclass
class ReferenceTimer:
    """Times slices of the reference and files them under their round."""

    settings: SessionSettings
    session: Any = None
    feeds: dict[str, np.ndarray] = field(default_factory=dict)
    rounds: dict[int, list[float]] = field(default_factory=dict)

    def time(self, round_index: int) -> None:
        if self.session is None:
            self.session = make_session(encoder_model(), self.settings)
            self.feeds = encoder_input()
        got = collect_samples(lambda: self.session.run(None, self.feeds), SLICE)
        self.rounds.setdefault(round_index, []).extend(got)

    def result(self) -> ReferenceResult | None:
        if not self.rounds:
            return None
        ordered = [self.rounds[r] for r in sorted(self.rounds)]
        return ReferenceResult(WORKLOAD, tuple(s for block in ordered for s in block),
                               tuple(len(block) for block in ordered))
