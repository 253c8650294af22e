"""Replay for generation: real requests through prefill and decode with the exported decoder.

A seeded sample of the profile's requests (rendered prompts, tokenized as profiled, and each
one's completion length N) is served in batches of B in sample order: the prompts left-padded
to the batch's longest, one prefill call with an empty cache, then greedy decode steps through
the cache (argmax of the logits, fed back with the grown mask, positions and ``present.*`` as
the next ``past_key_values.*``) until the batch's longest N: exactly N - 1 steps for a batch of
one. Each round of the benchmark runs every batch once, a slice after each cell, so the replay
and the cells it is predicted from share the machine's state. Measured: per batch, the median
over rounds of each call (prefill, every decode step), summed to the time to each token; a
request's TTFT is the prefill, its latency the time to its own N-th token. Predicted: the same batches through the cells' cost model
(:class:`~shapeprof.bench.requests.StepCosts`). The loop's own work (argmax, concatenation)
is in the measurement and not in the cells: it is part of the error; ``calls_s`` sums the
``session.run`` calls alone, so ``calls_error`` is the cost model's error without it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import BenchError
from ..schema import known_fields
from .requests import StepCosts, summary
from .stats import relative_error

if TYPE_CHECKING:
    from .context import Context
    from .expected import LatencyModel
    from .results import CellResult


@dataclass(frozen=True)
class GenerationReplay:
    """Predicted against measured, for real requests served in batches of ``batch_size``."""

    variant: str
    runtime: str
    batch_size: int
    requests: int
    rounds: int
    decode_steps: int                      # decode calls per round, all batches
    predicted_s: float                     # every batch, prefill to its last token
    measured_s: float                      # the same, median per batch over rounds
    error: float                           # (predicted - measured) / measured
    calls_s: float                         # the session.run calls alone (medians), no host loop
    calls_error: float                     # (predicted - calls_s) / calls_s
    ttft_ms: dict[str, dict[str, float]]   # {"predicted": {p50, p90, p99, mean}, "measured": ...}
    latency_ms: dict[str, dict[str, float]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GenerationReplay:
        return cls(**known_fields(cls, d))


@dataclass
class RequestBatch:
    """One batch of real requests: prefill feeds, each row's new tokens, times per round."""

    feeds: dict[str, np.ndarray]
    prompt: int                            # padded prompt length
    new: np.ndarray                        # tokens each row generates
    marks: list[np.ndarray] = field(default_factory=list)   # per round: seconds to each token
    calls: list[np.ndarray] = field(default_factory=list)   # per round: seconds in each session.run

    @property
    def steps(self) -> int:
        return int(self.new.max()) - 1


@dataclass
class GenerationReplayPlan:
    """The batches, the variant they run through, and the per-cell hook of the rounds."""

    batches: list[RequestBatch]
    batch_size: int
    variant: str
    ctx: Any = field(repr=False)
    session: Any = field(default=None, repr=False)

    def after_cell(self, r: int, i: int) -> None:
        """Round ``r``, after cell ``i``: run this cell's slice of the batches."""
        if self.session is None:
            self.session = self.ctx.variant_session(self.variant)
            run_batch(self.session, self.batches[0])          # warm-up, untimed
        slots = len(self.ctx.cells)
        n = len(self.batches)
        for batch in self.batches[n * i // slots: n * (i + 1) // slots]:
            marks, calls = run_batch(self.session, batch)
            batch.marks.append(marks)
            batch.calls.append(calls)


def run_batch(session: Any, batch: RequestBatch) -> tuple[np.ndarray, np.ndarray]:
    """Prefill then ``batch.steps`` greedy decode steps (:func:`~.greedy_step.next_feeds`, as
    the decode cells time them): seconds from the start to each token, and seconds inside each
    ``session.run`` (the rest is the loop's own work)."""
    from .greedy_step import next_feeds, run_outputs

    names = {i.name for i in session.get_inputs()}
    outputs = [o.name for o in session.get_outputs()]
    marks, calls = np.empty(batch.steps + 1), np.empty(batch.steps + 1)
    mask = batch.feeds["attention_mask"]
    start = time.perf_counter()
    result = run_outputs(session, batch.feeds, outputs)
    marks[0] = calls[0] = time.perf_counter() - start
    for k in range(batch.steps):
        feeds, mask = next_feeds(result, mask, names)
        t0 = time.perf_counter()
        result = run_outputs(session, feeds, outputs)
        marks[k + 1] = time.perf_counter() - start
        calls[k + 1] = marks[k + 1] - (t0 - start)
    return marks, calls


# ---- planning ------------------------------------------------------------------------------
def profile_requests(view: Any, tokenizer: Any = None) -> Any:
    """The generation profile's requests (read and rendered once with ``tokenizer`` when the
    profile was loaded from JSON, then kept on it)."""
    from ..profile.generation import reload_requests
    from ..profile.protocol import profile_from_dict
    from ..profile.shape_profile import ShapeProfile

    source = view.source if view is not None else None
    if isinstance(source, Mapping):
        source = profile_from_dict(source)        # checks the version, migrates older files
    if not isinstance(source, ShapeProfile) or source.generation is None:
        raise BenchError("replay of a decoder needs a chat profile (real prompts and completions); "
                         "profile the data with --prompt-columns/--completion-column or a messages column")
    return reload_requests(source, tokenizer)


def plan_generation_replay(ctx: Context, rows: int, seed: int, batch_size: int, variant: str,
                           past: Mapping[str, Any]) -> GenerationReplayPlan:
    """Sample ``rows`` requests and build their batches' prefill feeds (outside any timing);
    ``past`` is the cache's ``DecoderFeeds.past`` (its inputs' heads, head size and dtype)."""
    from .replay import sample_rows

    requests = profile_requests(ctx.view, ctx.tokenizer)
    pick = sample_rows(len(requests.prompts), rows, seed)
    ids = ctx.tokenizer([requests.prompts[i] for i in pick], add_special_tokens=False)["input_ids"]
    lengths, new = requests.prompt_lengths[pick], requests.new_tokens[pick]
    ids = [row[len(row) - int(p):] for row, p in zip(ids, lengths)]   # clipped as profiled: keep the end
    pad = int(ctx.tokenizer.pad_token_id if ctx.tokenizer.pad_token_id is not None else 0)
    batches = [prefill_batch(ids[s:s + batch_size], new[s:s + batch_size], past, pad, ctx.model.inputs)
               for s in range(0, len(ids), batch_size)]
    return GenerationReplayPlan(batches, batch_size, variant, ctx)


def prefill_batch(rows: Sequence[Sequence[int]], new: np.ndarray, past: Mapping[str, Any], pad: int,
                  inputs: Sequence[str]) -> RequestBatch:
    """Left-padded prompts, their mask and positions, and an empty cache."""
    from ..onnx.past import position_ids

    top = max(len(r) for r in rows)
    ids = np.full((len(rows), top), pad, dtype=np.int64)
    mask = np.zeros((len(rows), top), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, top - len(r):], mask[i, top - len(r):] = r, 1
    feeds = {"input_ids": ids, "attention_mask": mask, "position_ids": position_ids(mask, top)}
    for name, ((heads, dim), dtype) in past.items():
        feeds[name] = np.zeros((len(rows), heads, 0, dim), dtype=dtype)
    return RequestBatch({k: v for k, v in feeds.items() if k in inputs}, top, np.asarray(new))


# ---- the comparison -------------------------------------------------------------------------
def finish_generation_replay(plan: GenerationReplayPlan, cells: Sequence[CellResult]) -> GenerationReplay:
    """Measured (median over rounds) against the cells' prediction for the same batches."""
    from .decode import generation_models

    prefill, decode = generation_models(c for c in cells if c.variant == plan.variant)[plan.variant]
    rounds = min(len(b.marks) for b in plan.batches)
    if rounds == 0:
        raise BenchError("the generation replay ran no whole round; give --rounds 1 or more")
    measured = [median_marks(b.marks[:rounds]) for b in plan.batches]
    predicted = [_predicted(prefill, decode, b) for b in plan.batches]
    m_ttft, m_lat = _per_request(measured, plan.batches)
    p_ttft, p_lat = _per_request(predicted, plan.batches)
    m_total = float(sum(m[-1] for m in measured))
    p_total = float(sum(p[-1] for p in predicted))
    calls = float(sum(np.median(np.stack(b.calls[:rounds]), axis=0).sum() for b in plan.batches))
    return GenerationReplay(plan.variant, "onnxruntime", plan.batch_size,
                            int(sum(len(b.new) for b in plan.batches)), rounds,
                            int(sum(b.steps for b in plan.batches)), p_total, m_total,
                            relative_error(p_total, m_total), calls, relative_error(p_total, calls),
                            {"predicted": summary(p_ttft * 1e3), "measured": summary(m_ttft * 1e3)},
                            {"predicted": summary(p_lat * 1e3), "measured": summary(m_lat * 1e3)})


def median_marks(marks: Sequence[np.ndarray]) -> np.ndarray:
    """Seconds to each token from each call's median over rounds (prefill, then every decode
    step): a call slowed in one round by outside load does not count, as for the cells."""
    calls = np.diff(np.stack(marks), axis=1, prepend=0.0)
    return np.cumsum(np.median(calls, axis=0))


def _predicted(prefill: LatencyModel, decode: LatencyModel | None, batch: RequestBatch) -> np.ndarray:
    """Predicted seconds from the start to each token of the batch."""
    costs = StepCosts(prefill, decode, len(batch.new), batch.prompt + int(batch.new.max()))
    steps = np.arange(batch.steps + 1)
    ms = costs.prefill[batch.prompt] + costs.decode(np.full(len(steps), batch.prompt), steps + 1)
    return ms / 1000.0


def _per_request(marks: Sequence[np.ndarray], batches: Sequence[RequestBatch]) -> tuple[np.ndarray, np.ndarray]:
    """Each request's TTFT and time to its own last token (seconds)."""
    ttft = np.concatenate([np.full(len(b.new), m[0]) for m, b in zip(marks, batches)])
    latency = np.concatenate([m[b.new - 1] for m, b in zip(marks, batches)])
    return ttft, latency
