"""Replay: run a sample of real rows through the model under a padding policy, and compare the
measured time with the latency model's prediction for exactly the same batches.

Rows are tokenized once (outside the timing), batched by ``expected.plan_batches`` in the
sample's order and padded to each batch's length (``plan_replay``). A pass (``run_pass``) runs
the first ``WARMUP_BATCHES`` batches untimed, then every batch back to back, timing each
``session.run``. The benchmark runs passes inside its measurement rounds, right after the cells,
so the replay and the cells it is predicted from see the same machine state. The measurement
(``finish``) sums each batch's median over passes, as the prediction sums the cells' medians.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .expected import LatencyModel, Policy, plan_batches, predict_batches
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
    sweep_predicted_s: float | None = None   # from the sweep cells alone (without the replay's shapes)
    sweep_error: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passes_s": list(self.passes_s)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReplayResult:
        return cls(**{**d, "passes_s": tuple(d["passes_s"])})


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
    times: list[list[float]] = field(default_factory=list)   # seconds, per pass then per batch


def plan_replay(complete: Callable[[dict[str, np.ndarray]], dict], ids: dict[str, list[list[int]]],
                lengths: np.ndarray, policy: Policy, batch_size: int, pad_id: int) -> ReplayPlan:
    """Batch the sample under ``policy`` and build every batch's feeds (outside any timing)."""
    kept = np.minimum(lengths, policy.pad_to) if policy.pad_to else lengths
    plan = plan_batches(kept, policy, batch_size)
    feeds = [complete(pad_batch(ids, idx, pad, pad_id)) for idx, pad in plan]
    return ReplayPlan(policy, batch_size, len(lengths), [(len(idx), pad) for idx, pad in plan], feeds)


def run_pass(run: Callable[[dict[str, np.ndarray]], Any], plan: ReplayPlan) -> None:
    """One warmed-up pass over the plan's batches; appends the per-batch times to the plan."""
    import time

    for f in plan.feeds[:WARMUP_BATCHES]:
        run(f)
    times = []
    for f in plan.feeds:
        t0 = time.perf_counter()
        run(f)
        times.append(time.perf_counter() - t0)
    plan.times.append(times)


def finish(plan: ReplayPlan, model: LatencyModel, sweep_model: LatencyModel | None = None,
           variant: str = "onnx", runtime: str = "onnxruntime") -> ReplayResult:
    """Compare the measured passes with ``model`` (and the sweep-only model, when given)."""
    if not plan.times:
        raise ValueError("the replay has no timed pass")
    per_batch = np.median(np.array(plan.times), axis=0)
    measured = float(per_batch.sum())
    predicted = float(predict_batches(model, plan.shapes).sum()) / 1000.0
    sweep = (float(predict_batches(sweep_model, plan.shapes).sum()) / 1000.0
             if sweep_model is not None else None)
    policy = plan.policy
    key = f"pad:{policy.pad_to}" if policy.name == "pad" else policy.name
    return ReplayResult(variant, runtime, key, policy.label, plan.batch_size, plan.rows,
                        len(plan.shapes), predicted, measured, relative_error(predicted, measured),
                        tuple(float(sum(t)) for t in plan.times), sweep,
                        None if sweep is None else relative_error(sweep, measured))


def replay_shapes(plans: Sequence[ReplayPlan]) -> list[tuple[int, int]]:
    """The distinct (rows, padded length) batch shapes the plans run, sorted."""
    return sorted({shape for plan in plans for shape in plan.shapes})


def sample_rows(n_rows: int, wanted: int, seed: int) -> np.ndarray:
    """A seeded random order of ``wanted`` row indices (all rows when fewer)."""
    rng = np.random.default_rng(seed)
    return rng.permutation(n_rows)[: min(wanted, n_rows)]


def take(ids: dict[str, list[list[int]]], rows: Sequence[int]) -> dict[str, list[list[int]]]:
    return {k: [v[i] for i in rows] for k, v in ids.items()}
