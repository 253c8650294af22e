"""Replay: run a sample of real rows through the model under a padding policy, and compare the
measured time with the latency model's prediction for exactly the same batches.

Rows are tokenized once (outside the timing), batched by ``expected.plan_batches`` in the
sample's order, padded to each batch's length, and run back to back; a pass is timed as the
sum of the per-batch ``session.run`` times. The first ``WARMUP_BATCHES`` batches run untimed
first; the reported measurement is the median over ``repeats`` passes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
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


def replay(run: Callable[[dict[str, np.ndarray]], Any], complete: Callable[[dict[str, np.ndarray]], dict],
           ids: dict[str, list[list[int]]], lengths: np.ndarray, policy: Policy, batch_size: int,
           model: LatencyModel, pad_id: int, repeats: int = 3, variant: str = "onnx",
           runtime: str = "onnxruntime") -> ReplayResult:
    """Time the sample under ``policy`` and compare with the model's prediction."""
    import time

    kept = np.minimum(lengths, policy.pad_to) if policy.pad_to else lengths
    plan = plan_batches(kept, policy, batch_size)
    feeds = [complete(pad_batch(ids, idx, pad, pad_id)) for idx, pad in plan]
    for f in feeds[:WARMUP_BATCHES]:
        run(f)
    passes = []
    for _ in range(max(1, repeats)):
        total = 0.0
        for f in feeds:
            t0 = time.perf_counter()
            run(f)
            total += time.perf_counter() - t0
        passes.append(total)
    predicted = float(predict_batches(model, [(len(idx), pad) for idx, pad in plan]).sum()) / 1000.0
    measured = float(np.median(passes))
    key = f"pad:{policy.pad_to}" if policy.name == "pad" else policy.name
    return ReplayResult(variant, runtime, key, policy.label, batch_size, len(lengths), len(plan),
                        predicted, measured, relative_error(predicted, measured), tuple(passes))


def sample_rows(n_rows: int, wanted: int, seed: int) -> np.ndarray:
    """A seeded random order of ``wanted`` row indices (all rows when fewer)."""
    rng = np.random.default_rng(seed)
    return rng.permutation(n_rows)[: min(wanted, n_rows)]


def take(ids: dict[str, list[list[int]]], rows: Sequence[int]) -> dict[str, list[list[int]]]:
    return {k: [v[i] for i in rows] for k, v in ids.items()}
