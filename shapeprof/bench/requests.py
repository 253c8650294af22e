"""Expected latency per request over the data's real (prompt, completion) pairs.

A request with a prompt of P tokens generating N tokens costs ``prefill(B, P)`` (its time to
first token) plus ``decode(B, P + k)`` for k in 0..N-2 (the cost model of :mod:`.decode`,
fed by the measured cells' medians). At batch size B, requests are served in static batches of
B real pairs drawn at random (seeded, every pair once per draw): a batch is padded to its
longest prompt and decodes until its longest completion; a request's latency is the time to
its own last token (the batch's prefill, then the decode steps up to its N). Percentiles
(p50/p90/p99) are over the requests; throughput counts the batches' whole time and the real
tokens generated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..errors import BenchError
from ..schema import known_fields
from .expected import LatencyModel

QUANTILES = (50, 90, 99)
DRAWS = 8            # random batchings of the pairs at batch sizes above 1


@dataclass(frozen=True)
class RequestEstimate:
    """Per-request figures of one variant at one batch size over real pairs."""

    variant: str
    runtime: str
    batch_size: int
    requests: int                      # pairs weighed (rows of the profile)
    source: str                        # "data pairs" or "prompts x N new tokens"
    mean_prompt_length: float
    mean_new_tokens: float
    ttft_ms: dict[str, float]          # p50, p90, p99, mean
    ms_per_token: dict[str, float]     # decode ms per generated token after the first
    latency_ms: dict[str, float]       # time to the request's last token
    tokens_per_s: float                # generated tokens per second, all rows of the batches
    requests_per_s: float
    outside_measured: float            # share of requests beyond the measured lengths

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RequestEstimate:
        return cls(**known_fields(cls, d))


def expand_pairs(pairs: Mapping[tuple[int, int], int]) -> tuple[np.ndarray, np.ndarray]:
    """Prompt lengths and new tokens of every request the histogram describes."""
    keys = sorted(pairs)
    counts = [int(pairs[k]) for k in keys]
    p = np.repeat(np.array([k[0] for k in keys], dtype=np.int64), counts)
    n = np.repeat(np.array([k[1] for k in keys], dtype=np.int64), counts)
    return p, n


def batch_draws(rows: int, batch_size: int, seed: int = 0) -> np.ndarray:
    """Row indices as batches (draws x batches, batch_size): batch 1 takes every row once;
    larger batches ``DRAWS`` seeded permutations, cycled to fill the last batch."""
    if batch_size == 1:
        return np.arange(rows)[:, None]
    rng = np.random.default_rng(seed)
    per = -(-rows // batch_size) * batch_size
    return np.concatenate([np.resize(rng.permutation(rows), per).reshape(-1, batch_size)
                           for _ in range(DRAWS)])


class StepCosts:
    """Prefill and cumulative decode latency at one batch size, tabulated by length."""

    def __init__(self, prefill: LatencyModel, decode: LatencyModel | None, batch: int, longest: int) -> None:
        lengths = np.arange(longest + 2)
        self.prefill = prefill.at_batch(batch, np.maximum(lengths, 1))
        steps = decode.at_batch(batch, lengths) if decode is not None else np.zeros(len(lengths))
        self.cum = np.concatenate([[0.0], np.cumsum(steps)])    # cum[L] = sum of steps at past < L

    def decode(self, prompt: np.ndarray, new: np.ndarray) -> np.ndarray:
        """Decode time of ``new - 1`` steps at past lengths prompt .. prompt + new - 2."""
        return self.cum[prompt + np.maximum(new - 1, 0)] - self.cum[prompt]


def estimate_requests(prefill: LatencyModel, decode: LatencyModel | None,
                      pairs: Mapping[tuple[int, int], int], batch_size: int, variant: str = "onnx",
                      runtime: str = "onnxruntime", source: str = "data pairs", seed: int = 0
                      ) -> RequestEstimate:
    """TTFT, ms per token and latency percentiles over the pairs; throughput at ``batch_size``."""
    p, n = expand_pairs(pairs)
    if not p.size:
        raise BenchError("no (prompt, completion) pairs to estimate from; profile a chat dataset")
    if decode is None and (n > 1).any():
        raise BenchError("no decode cells were measured; the pairs generate more than one token")
    batches = batch_draws(len(p), batch_size, seed)
    top_p, top_n = p[batches].max(axis=1), n[batches].max(axis=1)
    costs = StepCosts(prefill, decode, batch_size, int((top_p + top_n).max()))
    ttft = costs.prefill[top_p]
    whole = ttft + costs.decode(top_p, top_n)
    ttft_r = np.repeat(ttft, batch_size)
    own_n = n[batches].ravel()
    latency = ttft_r + costs.decode(np.repeat(top_p, batch_size), own_n)
    per_token = (latency - ttft_r)[own_n > 1] / (own_n[own_n > 1] - 1)
    total_s = whole.sum() / 1000.0
    return RequestEstimate(variant, runtime, batch_size, int(p.size), source, float(p.mean()),
                           float(n.mean()), summary(ttft_r), summary(per_token), summary(latency),
                           float(n[batches].sum() / total_s), float(batches.size / total_s),
                           _outside(prefill, decode, p, n))


def summary(values: np.ndarray) -> dict[str, float]:
    if not values.size:
        return {**{f"p{q}": 0.0 for q in QUANTILES}, "mean": 0.0}
    return {**{f"p{q}": float(np.percentile(values, q)) for q in QUANTILES}, "mean": float(values.mean())}


def _outside(prefill: LatencyModel, decode: LatencyModel | None, p: np.ndarray, n: np.ndarray) -> float:
    lo, hi = prefill.length_range
    out = (p < lo) | (p > hi)
    if decode is not None:
        dlo, dhi = decode.length_range
        end = p + n - 2
        out |= (n > 1) & ((p < dlo) | (end > dhi))
    return float(out.mean())


def constant_pairs(counts: Mapping[int, int], new_tokens: int, max_length: int | None = None
                   ) -> dict[tuple[int, int], int]:
    """Every profiled prompt length with a constant ``new_tokens`` (the --new-tokens override)."""
    limit = None if max_length is None else max(1, max_length - new_tokens + 1)
    out: dict[tuple[int, int], int] = {}
    for length, c in counts.items():
        key = (int(length) if limit is None else min(int(length), limit), int(new_tokens))
        out[key] = out.get(key, 0) + int(c)
    return out


def closing_lines(results: Any) -> list[str]:
    """What ``export --bench`` prints for a decoder: latency per request at batch 1, throughput
    per batch size, and the replay's error."""
    mine = [r for r in results.requests if r.variant == results.requests[0].variant] if results.requests else []
    lines = []
    for r in mine[:1]:
        lat, ttft = r.latency_ms, r.ttft_ms
        lines.append(f"generation ({r.variant}, {r.source}, batch {r.batch_size}): latency per request "
                     f"p50 {lat['p50']:.3g} ms, p90 {lat['p90']:.3g} ms, p99 {lat['p99']:.3g} ms; TTFT p50 "
                     f"{ttft['p50']:.3g} ms; {r.ms_per_token['p50']:.3g} ms/token")
    if mine:
        lines.append("  throughput: " + ", ".join(f"batch {r.batch_size} {r.tokens_per_s:,.0f} tok/s "
                                                   f"({r.requests_per_s:,.1f} req/s)" for r in mine))
    for g in results.generation_replays:
        lines.append(f"  replay: {g.requests} real requests (batch {g.batch_size}, {g.decode_steps} decode "
                     f"steps): predicted {g.predicted_s:.3g} s, measured {g.measured_s:.3g} s "
                     f"({100 * g.error:+.0f}%; session.run calls alone {g.calls_s:.3g} s, "
                     f"{100 * g.calls_error:+.0f}%)")
    return lines
