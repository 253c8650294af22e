"""Candidate deployments, their predicted cost on the real rows, and the pruning rules.

A candidate is a graph variant, a batching policy, a batch size and a thread layout (sessions x
intra-op threads each). Its prediction comes from the latency model of the measured cells
(``shapeprof.bench.expected.LatencyModel``): every batch the policy forms over the real rows, in
their arrival order, is priced at its (rows, padded length); sessions serving in parallel divide
the total time. Pruning drops what cannot win before it is measured further.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..bench.expected import LatencyModel, predict_batches
from ..bench.stats import summarize
from .batching import Batching, padded_tokens, plan, shapes
from .options import Slo

PRUNE_MARGIN = 0.85        # a variant predicted below this share of the best cannot win
MIN_GAIN = 1.03            # a larger batch must be predicted at least this much faster


@dataclass(frozen=True)
class Layout:
    """``sessions`` sessions of ``threads`` intra-op threads each, serving batches in parallel."""

    sessions: int = 1
    threads: int = 1

    @property
    def label(self) -> str:
        return f"{self.sessions} x {self.threads} thread{'s' if self.threads > 1 else ''}"


@dataclass(frozen=True)
class Candidate:
    variant: str
    batching: Batching
    batch_size: int
    layout: Layout
    default_session: bool = False      # the baseline: onnxruntime's default session options

    @property
    def label(self) -> str:
        layout = "1 session, onnxruntime defaults" if self.default_session else self.layout.label
        return f"{self.variant}, {self.batching.label}, batch {self.batch_size}, {layout}"

    def to_dict(self) -> dict[str, Any]:
        return {"variant": self.variant, "batching": self.batching.to_dict(), "batch_size": self.batch_size,
                "sessions": self.layout.sessions, "threads": self.layout.threads,
                "default_session": self.default_session}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Candidate:
        return cls(str(d["variant"]), Batching.from_dict(d["batching"]), int(d["batch_size"]),
                   Layout(int(d["sessions"]), int(d["threads"])), bool(d.get("default_session")))


@dataclass(frozen=True)
class Prediction:
    """Predicted cost of serving the rows: throughput, per-batch latency percentiles."""

    sequences_per_s: float
    p50_ms: float
    p99_ms: float
    batches: int
    padded_tokens: int

    def to_dict(self) -> dict[str, Any]:
        return {"sequences_per_s": self.sequences_per_s, "p50_ms": self.p50_ms, "p99_ms": self.p99_ms,
                "batches": self.batches, "padded_tokens": self.padded_tokens}


def predict(candidate: Candidate, model: LatencyModel, lengths: np.ndarray) -> Prediction:
    """The candidate's cost on ``lengths`` (rows in arrival order) from ``model`` (one session's
    latency at the candidate's threads)."""
    batches = plan(lengths, candidate.batching, candidate.batch_size)
    latency = predict_batches(model, shapes(batches))
    total_s = float(latency.sum()) / 1000.0 / candidate.layout.sessions
    stats = summarize(latency)
    return Prediction(len(lengths) / max(total_s, 1e-12), stats.p50, stats.p99, len(batches),
                      padded_tokens(batches, lengths))


def batchings(edges: Sequence[int], window: int) -> list[Batching]:
    """The policies tried: pad to longest, the profile's buckets (when it has edges), windows."""
    out = [Batching("longest")]
    if edges:
        out.append(Batching("buckets", edges=tuple(int(e) for e in edges)))
    out.append(Batching("window", window=window))
    return out


def prune_variants(best: Mapping[str, float], margin: float = PRUNE_MARGIN) -> tuple[list[str], dict[str, str]]:
    """Variants kept (predicted throughput within ``margin`` of the best) and why the rest went."""
    top = max(best.values())
    kept = [v for v, s in best.items() if s >= margin * top]
    dropped = {v: f"predicted {s:,.0f} seq/s, below {margin:.0%} of the best ({top:,.0f})"
               for v, s in best.items() if v not in kept}
    return kept, dropped


def grow_more(previous: Prediction | None, current: Prediction, slo: Slo | None) -> bool:
    """Whether a batch size twice as large is worth measuring after ``current``."""
    if slo is not None and not slo.met(current):
        return False
    return previous is None or current.sequences_per_s >= MIN_GAIN * previous.sequences_per_s


def rank(scored: Sequence[tuple[Candidate, Prediction]], slo: Slo | None
         ) -> list[tuple[Candidate, Prediction]]:
    """Candidates meeting the SLO first, each group by predicted throughput, best first."""
    return sorted(scored, key=lambda cp: (slo is not None and not slo.met(cp[1]), -cp[1].sequences_per_s))


def closest(scored: Sequence[tuple[Candidate, Prediction]], slo: Slo, n: int = 3
            ) -> list[tuple[Candidate, Prediction]]:
    """The ``n`` candidates nearest to meeting ``slo`` (lowest latency at the SLO's percentile)."""
    return sorted(scored, key=lambda cp: slo.value(cp[1]))[:n]
