"""The answers a benchmark gives, with how sure they are: how to batch the data, and
onnxruntime against PyTorch.

Both compare two things measured in the same rounds, so both are paired by round
(:mod:`.paired`): the recommended padding policy against padding to 128 and against padding to
the longest row of each batch (expected totals per round, ``extra["expected_total_s_per_round"]``),
and onnxruntime against PyTorch per cell. An interval that contains 1 is "within noise".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .expected import PolicyEstimate
from .paired import PairedSpeedup, paired_speedup

if TYPE_CHECKING:
    from .results import BenchResults

ROUNDS_KEY = "expected_total_s_per_round"
BASELINES = ("pad:128", "longest")       # what the recommendation is set against


@dataclass(frozen=True)
class Batching:
    best: PolicyEstimate
    against: tuple[tuple[PolicyEstimate, PairedSpeedup], ...]   # baseline, best's speedup over it


@dataclass(frozen=True)
class RuntimeComparison:
    variant: str
    batch_size: int
    sequence_length: int
    speedup: PairedSpeedup          # PyTorch latency / onnxruntime latency


def batching(results: BenchResults) -> Batching | None:
    """The fastest onnxruntime variant's best policy, against the baselines it was estimated with."""
    ort = [e for e in results.expected if e.runtime == "onnxruntime"]
    if not ort:
        return None
    best = max(ort, key=lambda e: e.sequences_per_s)
    rounds = results.extra.get(ROUNDS_KEY, {}).get(best.variant, {})
    mine = {e.policy: e for e in ort if e.variant == best.variant}
    against = tuple((mine[key], _ratio(rounds.get(key), rounds.get(best.policy), mine[key], best))
                    for key in BASELINES if key in mine and key != best.policy)
    return Batching(best, against)


def _ratio(base: list[float] | None, best: list[float] | None, base_e: PolicyEstimate,
           best_e: PolicyEstimate) -> PairedSpeedup:
    if base and best and len(base) == len(best):
        return paired_speedup(np.asarray(base), np.asarray(best))
    nan = float("nan")
    return PairedSpeedup(base_e.total_s / best_e.total_s, nan, nan, 0)


def against_pytorch(results: BenchResults) -> list[RuntimeComparison]:
    """onnxruntime variants against PyTorch at every cell both timed, paired by round."""
    from .results import speedup

    torch = {c.key: c for c in results.cells if c.variant == "pytorch"}
    return [RuntimeComparison(c.variant, c.batch_size, c.sequence_length, speedup(torch[c.key], c))
            for c in results.cells if c.runtime == "onnxruntime" and c.key in torch and not c.phase]


def verdict(s: PairedSpeedup) -> str:
    """``2.10x faster (95%: 1.90-2.30)``, ``within noise (1.04x, 95%: 0.91-1.19)``, ..."""
    if np.isnan(s.low):
        return f"{s.ratio:.2f}x (no interval: fewer than 2 rounds)"
    interval = f"95%: {s.low:.2f}-{s.high:.2f}"
    if s.verdict == "tie":
        return f"within noise ({s.ratio:.2f}x, {interval})"
    if s.verdict == "faster":
        return f"{s.ratio:.2f}x faster ({interval})"
    return f"{1 / s.ratio:.2f}x slower (95%: {1 / s.high:.2f}-{1 / s.low:.2f})"
