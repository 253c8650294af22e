"""Replay: run a sample of real rows through the model under a padding policy, and compare the
measured time with the latency model's prediction for exactly the same batches.

Rows are tokenized once (outside the timing), batched by ``expected.plan_batches`` in the
sample's order and padded to each batch's length (``plan_replay``). Each batch is timed
(``session.run``) and, right after it, one call of the benchmark's own cell feeds at the same
shape (``cell_feeds``), so both are measured side by side, in the same machine state. The
benchmark spreads every round's passes over the round (``spread``: a slice of batches after each
cell, the plans' order rotated from round to round), so the replay and the cells it is predicted
from are sampled over the same stretch of time and a shared machine's drift hits both alike;
``run_pass`` runs one whole pass at once.

``finish`` sums each batch's median over passes (measured) and compares it with:

* the expected-latency model (``predicted_s``): the sweep's cell medians, interpolated, exactly
  what the expected-latency table uses; its error includes any drift of the machine's speed
  between the sweep and the replay;
* the cells at the same shapes timed side by side (``side_by_side_s``): what real batches cost
  beyond the cells' cost (content, shape switching, partial batches), free of drift;
* round by round (``round_error``): each round's prediction from that round's cell medians
  against the passes of the same round, geometric mean over rounds with a 95% interval, so the
  drift between rounds drops out and the interval says whether the model is off beyond noise.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..schema import known_fields
from .expected import LatencyModel, Policy, plan_batches, predict_batches
from .paired import paired_speedup
from .stats import relative_error

WARMUP_BATCHES = 3


@dataclass(frozen=True)
class ReplayResult:
    variant: str
    runtime: str
    policy: str
    label: str
    batch_size: int
    rows: int
    batches: int
    predicted_s: float
    measured_s: float
    error: float                    # (predicted - measured) / measured
    passes_s: tuple[float, ...]     # each timed pass
    side_by_side_s: float | None = None      # the same shapes' cells, timed next to each batch
    side_by_side_error: float | None = None
    round_error: float | None = None          # paired by round: each round's cells vs its passes
    round_error_low: float | None = None      # 95% interval (None with fewer than 2 rounds)
    round_error_high: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passes_s": list(self.passes_s)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReplayResult:
        return cls(**{**known_fields(cls, d), "passes_s": tuple(d["passes_s"])})


def tokenize_rows(tokenizer: Any, texts: Any, max_length: int) -> tuple[dict[str, list[list[int]]], np.ndarray]:
    """Unpadded token ids per input (truncated to the limit) and each row's length."""
    pair = texts.values[1] if texts.is_pair else None
    encoded = tokenizer(texts.values[0], pair, truncation=True, max_length=max_length)
    ids = {k: v for k, v in encoded.items() if k in tokenizer.model_input_names}
    return ids, np.array([len(r) for r in ids["input_ids"]], dtype=np.int64)


def pad_batch(ids: dict[str, list[list[int]]], rows: np.ndarray, length: int, pad_id: int
              ) -> dict[str, np.ndarray]:
    """Right-padded (or cut) int64 arrays of ``rows`` at ``length`` (mask and type ids pad with 0)."""
    out = {}
    for name, seqs in ids.items():
        fill = pad_id if name == "input_ids" else 0
        arr = np.full((len(rows), length), fill, dtype=np.int64)
        for i, r in enumerate(rows):
            seq = seqs[r][:length]
            arr[i, :len(seq)] = seq
        out[name] = arr
    return out


@dataclass
class ReplayPlan:
    """The batches of one policy over the sample, their feeds, and the per-batch times so far."""

    policy: Policy
    batch_size: int
    rows: int
    shapes: list[tuple[int, int]]                 # (rows, padded length) per batch
    feeds: list[dict[str, np.ndarray]]
    cell_feeds: list[dict[str, np.ndarray]] | None = None   # the cell at each batch's shape
    times: list[list[float]] = field(default_factory=list)   # seconds, per pass then per batch
    cell_times: list[list[float]] = field(default_factory=list)

    def attach_cells(self, feeds_of: Callable[[tuple[int, int]], dict[str, np.ndarray]]) -> None:
        """Give every batch the benchmark's cell feeds of its shape (timed side by side)."""
        self.cell_feeds = [feeds_of(shape) for shape in self.shapes]


def plan_replay(complete: Callable[[dict[str, np.ndarray]], dict], ids: dict[str, list[list[int]]],
                lengths: np.ndarray, policy: Policy, batch_size: int, pad_id: int) -> ReplayPlan:
    """Batch the sample under ``policy`` and build every batch's feeds (outside any timing)."""
    kept = np.minimum(lengths, policy.pad_to) if policy.pad_to else lengths
    plan = plan_batches(kept, policy, batch_size)
    feeds = [complete(pad_batch(ids, idx, pad, pad_id)) for idx, pad in plan]
    return ReplayPlan(policy, batch_size, len(lengths), [(len(idx), pad) for idx, pad in plan], feeds)


def run_pass(run: Callable[[dict[str, np.ndarray]], Any], plan: ReplayPlan) -> None:
    """One warmed-up pass over the plan's batches, each followed by its cell when the plan has
    cell feeds; appends the per-batch times (seconds) to the plan."""
    for f in plan.feeds[:WARMUP_BATCHES]:
        run(f)
    for i in range(len(plan.feeds)):
        run_batch(run, plan, i)


def run_batch(run: Callable[[dict[str, np.ndarray]], Any], plan: ReplayPlan, i: int) -> None:
    """Time batch ``i`` (then its cell, when the plan has cell feeds); batch 0 opens a new pass."""
    if i == 0:
        plan.times.append([])
        if plan.cell_feeds is not None:
            plan.cell_times.append([])
    plan.times[-1].append(_timed(run, plan.feeds[i]))
    if plan.cell_feeds is not None:
        plan.cell_times[-1].append(_timed(run, plan.cell_feeds[i]))


def spread(plans: Sequence[ReplayPlan], repeats: int, slots: int, turn: int = 0
           ) -> list[list[tuple[ReplayPlan, int]]]:
    """``repeats`` passes of every plan cut into ``slots`` consecutive slices of (plan, batch),
    so a round can run one slice after each of its cells. Each plan's pass stays one unbroken
    stream (its own shape changes only); the plans' order is rotated by ``turn`` (the round), so
    over the rounds every plan runs early, mid and late in a round."""
    k = turn % len(plans) if plans else 0
    order = list(plans[k:]) + list(plans[:k])
    jobs = [(plan, i) for _ in range(max(1, repeats)) for plan in order for i in range(len(plan.feeds))]
    return [jobs[len(jobs) * j // slots: len(jobs) * (j + 1) // slots] for j in range(slots)]


def _timed(run: Callable[[dict[str, np.ndarray]], Any], feeds: dict[str, np.ndarray]) -> float:
    t0 = time.perf_counter()
    run(feeds)
    return time.perf_counter() - t0


def finish(plan: ReplayPlan, model: LatencyModel, variant: str = "onnx", runtime: str = "onnxruntime",
           per_round: Sequence[LatencyModel] | None = None, repeats: int = 1) -> ReplayResult:
    """Compare the measured passes with ``model`` and with the cells timed side by side.

    With ``per_round`` (one latency model per round, from that round's cell medians) each
    round's prediction is also compared with the ``repeats`` passes run in that round: the
    error paired by round, with its interval, free of the drift between rounds.
    """
    times, cell_times = _whole(plan.times, plan.shapes), _whole(plan.cell_times, plan.shapes)
    if not times:
        raise ValueError("the replay has no whole timed pass")
    measured = _sum_of_medians(times)
    predicted = float(predict_batches(model, plan.shapes).sum()) / 1000.0
    side = _sum_of_medians(cell_times) if cell_times else None
    policy = plan.policy
    key = f"pad:{policy.pad_to}" if policy.name == "pad" else policy.name
    paired = _paired_error(plan, per_round, repeats)
    return ReplayResult(variant, runtime, key, policy.label, plan.batch_size, plan.rows,
                        len(plan.shapes), predicted, measured, relative_error(predicted, measured),
                        tuple(float(sum(t)) for t in times), side,
                        None if side is None else relative_error(side, measured), *paired)


def _paired_error(plan: ReplayPlan, per_round: Sequence[LatencyModel] | None, repeats: int
                  ) -> tuple[float | None, float | None, float | None]:
    """(error, low, high) of each round's prediction against that round's passes."""
    repeats = max(1, repeats)
    times = _whole(plan.times, plan.shapes)
    if not per_round or len(times) != len(plan.times) or len(times) != len(per_round) * repeats:
        return None, None, None                   # passes and rounds do not line up
    predicted = np.array([predict_batches(m, plan.shapes).sum() / 1000.0 for m in per_round])
    measured = np.array([_sum_of_medians(times[r * repeats:(r + 1) * repeats])
                         for r in range(len(per_round))])
    got = paired_speedup(predicted, measured)        # exp(mean log(predicted / measured))
    bounds = (None, None) if math.isnan(got.low) else (got.low - 1.0, got.high - 1.0)
    return got.ratio - 1.0, *bounds


def _whole(times: list[list[float]], shapes: Sequence[Any]) -> list[list[float]]:
    """The passes that timed every batch (a pass cut short by an error is left out)."""
    return [t for t in times if len(t) == len(shapes)]


def _sum_of_medians(times: list[list[float]]) -> float:
    """Each batch's median over passes, summed (seconds)."""
    return float(np.median(np.array(times), axis=0).sum())


def sample_rows(n_rows: int, wanted: int, seed: int) -> np.ndarray:
    """A seeded random order of ``wanted`` row indices (all rows when fewer)."""
    rng = np.random.default_rng(seed)
    return rng.permutation(n_rows)[: min(wanted, n_rows)]


def take(ids: dict[str, list[list[int]]], rows: Sequence[int]) -> dict[str, list[list[int]]]:
    return {k: [v[i] for i in rows] for k, v in ids.items()}
