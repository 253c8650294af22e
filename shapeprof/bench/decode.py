"""Generation workloads for decoders exported with past key values.

One exported model serves both phases: ``prefill`` (the prompt, empty cache) and ``decode``
(one new token after ``past_length`` cached tokens). The sweep measures prefill at prompt
lengths (the profile's quantiles, else the defaults or the given lengths) and decode at past
lengths from each prompt length to the last generated token. A request with a prompt of P
tokens generating N tokens costs ``prefill(P)`` (its time to first token) plus
``decode(P + k)`` for k in 0..N-2. A decode cell times the real greedy step (the host's
work and a cache one token longer every call, :mod:`.greedy_step`), and the decode cost is a
least-squares line over past length per batch size (:class:`~.expected.LinearModel`). Over
the profile's prompt-length histogram at batch B the batch's prompt length is its longest row
(independent draws, ``P(L <= l) = F(l)^B``, as the ``longest`` padding policy).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import BenchError
from .expected import LatencyModel, LinearModel
from .options import NEW_TOKENS
from .sweep import DEFAULT_LENGTHS, PROFILE_QUANTILES, Cell, check_lengths

if TYPE_CHECKING:
    from .model_dir import ModelDir
    from .profile_view import ProfileView

GENERATION_TASKS = ("text-generation-with-past",)
PAST_PREFIX = "past_key_values."
DEFAULT_NEW_TOKENS = NEW_TOKENS
DEFAULT_BATCH_SIZES = (1, 4)
Feeds = dict[str, np.ndarray]


def is_generation(model: ModelDir) -> bool:
    """A decoder exported with its cache: benchmarked as prefill + decode steps."""
    return model.task in GENERATION_TASKS and any(n.startswith(PAST_PREFIX) for n in model.inputs)


def prompt_lengths(view: ProfileView | None, given: Iterable[int] | None) -> list[int]:
    """The given lengths, else the profile's quantiles and extremes, else the defaults."""
    if given is not None:
        return sorted({int(n) for n in given})
    if view is not None:
        return sorted(set(view.quantile_lengths(PROFILE_QUANTILES)) | {min(view.counts), max(view.counts)})
    return list(DEFAULT_LENGTHS)


def past_lengths(prompts: Sequence[int], new_tokens: int) -> list[int]:
    """Past lengths the decode steps of these prompts see: start, middle and end of generation."""
    last = max(new_tokens - 2, 0)
    return sorted({p + k for p in prompts for k in (0, last // 2, last)})


def pair_past_lengths(prompts: Sequence[int], pairs: Mapping[tuple[int, int], int]) -> list[int]:
    """Past lengths the decode steps of the data's real pairs see: the prompt lengths (first
    step) and the quantiles of the last step's past (``p + n - 2``), up to the longest."""
    ends = {(p + n - 2): c for (p, n), c in pairs.items() if n > 1}
    if not ends:
        return []
    from ..profile.stats import as_arrays, percentile_from_counts

    values, weights = as_arrays(ends)
    tops = {int(round(percentile_from_counts(values, weights, q))) for q in (50, 90, 99)}
    return sorted(set(prompts) | tops | {int(values[-1])})


def design_generation(view: ProfileView | None = None, batch_sizes: Iterable[int] | None = None,
                      prompts: Iterable[int] | None = None, new_tokens: int | None = None,
                      max_length: int | None = None) -> list[Cell]:
    """Prefill cells (batch x prompt length) and decode cells (batch x past length).

    ``new_tokens`` None takes the data's real (prompt, completion) pairs when the profile has
    them (decode at the past lengths their steps see), else ``DEFAULT_NEW_TOKENS``. A constant
    ``new_tokens``: prompts must leave room for it within ``max_length``: chosen lengths are
    clipped to fit, given ones are refused.
    """
    pairs = view.pairs if view is not None and new_tokens is None else None
    new_tokens = DEFAULT_NEW_TOKENS if new_tokens is None else new_tokens
    if new_tokens < 1:
        raise BenchError(f"--new-tokens {new_tokens} must be at least 1")
    batches = _batches(view, batch_sizes)
    limit = None if pairs or max_length is None else max(1, max_length - new_tokens + 1)
    lengths = prompt_lengths(view, prompts)
    if prompts is None and limit is not None:
        lengths = sorted({min(n, limit) for n in lengths})
    check_lengths(lengths, limit)
    if not batches or not lengths:
        raise BenchError("the generation sweep is empty; give at least one batch size and prompt length")
    if pairs:   # the real pairs: decode up to the longest request
        check_pairs_fit(pairs, max_length)
        return _cells(batches, lengths, pair_past_lengths(lengths, pairs))
    return _cells(batches, lengths, past_lengths(lengths, new_tokens) if new_tokens > 1 else [])


def check_pairs_fit(pairs: Mapping[tuple[int, int], int], max_length: int | None) -> None:
    """Refuse (not clip) real pairs beyond the model's positions: the profile clips them to the
    profiled model's context, so a longer request means the profile was made for another model."""
    if max_length is None:
        return
    p, n = max(pairs, key=lambda k: k[0] + k[1])
    if p > max_length or p + n - 1 > max_length:
        raise BenchError(f"the profile's longest request (prompt {p} + {n} new tokens) exceeds the "
                         f"model's {max_length} positions; profile the data with this model (pairs "
                         "are clipped to its context) or pass --new-tokens N")


def _batches(view: ProfileView | None, batch_sizes: Iterable[int] | None) -> list[int]:
    default = view.batch_sizes if view is not None and view.batch_sizes else DEFAULT_BATCH_SIZES
    batches = sorted({int(b) for b in (default if batch_sizes is None else batch_sizes)})
    if any(b < 1 for b in batches):
        raise BenchError(f"batch sizes {batches} include a value below 1; sizes must be positive")
    return batches


def _cells(batches: Sequence[int], lengths: Sequence[int], pasts: Sequence[int]) -> list[Cell]:
    return ([Cell(b, n, "prefill") for b in batches for n in lengths]
            + [Cell(b, 1, "decode", p) for b in batches for p in pasts])


# ---- feeds -----------------------------------------------------------------------------------
class DecoderFeeds:
    """Feeds of prefill and decode cells: real token ids (windows of the data's token stream)
    or random ids, a full mask, positions after the past, a random cache of the graph's dtype."""

    def __init__(self, model: ModelDir, session: Any, tokens: np.ndarray | None = None, seed: int = 0
                 ) -> None:
        self.model, self.tokens, self.seed = model, tokens, seed
        self.past = {i.name: (_kv_dims(i.shape, model.config), _np_dtype(i.type))
                     for i in session.get_inputs() if i.name.startswith(PAST_PREFIX)}

    def __call__(self, cell: Cell) -> Feeds:
        rng = np.random.default_rng(self.seed + 100_003 * cell.batch_size + 1009 * cell.past_length
                                    + cell.sequence_length)
        b, n, past = cell.batch_size, cell.sequence_length, cell.past_length
        mask = np.ones((b, past + n), dtype=np.int64)
        feeds: Feeds = {"input_ids": self._ids(rng, b, n), "attention_mask": mask,
                        "position_ids": np.tile(np.arange(past, past + n, dtype=np.int64), (b, 1))}
        for name, ((heads, dim), dtype) in self.past.items():
            feeds[name] = rng.standard_normal((b, heads, past, dim)).astype(dtype)
        return {k: v for k, v in feeds.items() if k in self.model.inputs}

    def _ids(self, rng: np.random.Generator, b: int, n: int) -> np.ndarray:
        if self.tokens is None or not len(self.tokens):
            return rng.integers(0, self.model.vocab_size, size=(b, n), dtype=np.int64)
        stream = np.resize(self.tokens, max(len(self.tokens), n + 1))
        starts = rng.integers(0, len(stream) - n + 1, size=b)
        return np.stack([stream[s:s + n] for s in starts]).astype(np.int64)


def token_stream(tokenizer: Any, texts: Any) -> np.ndarray:
    """The data rows' token ids, concatenated (a source of real prompt tokens)."""
    pair = texts.values[1] if texts.is_pair else None
    encoded = tokenizer(texts.values[0], pair)["input_ids"]
    return np.fromiter((t for row in encoded for t in row), dtype=np.int64)


def _kv_dims(shape: Sequence[Any], config: Mapping[str, Any]) -> tuple[int, int]:
    """(key/value heads, head dim) from the graph's static dims, else from config.json."""
    if len(shape) == 4 and isinstance(shape[1], int) and isinstance(shape[3], int):
        return shape[1], shape[3]
    heads = config.get("num_attention_heads") or config.get("n_head")
    hidden = config.get("hidden_size") or config.get("n_embd")
    if not heads or not hidden:
        raise BenchError("cannot tell the cache's heads and head size from the graph or config.json; "
                         "re-export the model")
    kv = config.get("num_key_value_heads") or heads
    return int(kv), int(config.get("head_dim") or int(hidden) // int(heads))


def _np_dtype(onnx_type: str) -> Any:
    return {"tensor(float16)": np.float16, "tensor(double)": np.float64}.get(onnx_type, np.float32)


# ---- expected per request ----------------------------------------------------------------------
@dataclass(frozen=True)
class GenerationEstimate:
    """Expected cost of one batch of requests with prompts drawn from the profile."""

    variant: str
    runtime: str
    batch_size: int
    new_tokens: int
    mean_prompt_length: float      # the batch's (longest) prompt, on average
    ttft_ms: float                 # expected time to first token (the prefill)
    decode_ms: float               # expected time of the N-1 decode steps
    total_ms: float                # expected latency per request (batch)
    ms_per_token: float            # mean decode step
    tokens_per_s: float            # generated tokens per second (all rows of the batch)
    requests_per_s: float
    outside_measured: float        # weight of prompt/past lengths outside the measured ranges

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def generation_models(cells: Iterable[Any]) -> dict[str, tuple[LatencyModel, LatencyModel | None]]:
    """Per variant: (prefill latency by prompt length, between the measured lengths; decode step
    latency by past length, a least-squares line per batch size), on the cells' medians."""
    points: dict[str, dict[str, list[tuple[int, int, float]]]] = {}
    for c in cells:
        length = c.sequence_length if c.phase == "prefill" else c.past_length
        points.setdefault(c.variant, {"prefill": [], "decode": []})[c.phase].append(
            (c.batch_size, length, c.stats.p50))
    return {name: (LatencyModel(p["prefill"]), LinearModel(p["decode"]) if p["decode"] else None)
            for name, p in points.items()}


def estimate_generation(prefill: LatencyModel, decode: LatencyModel | None, counts: Mapping[int, int],
                        batch_size: int, new_tokens: int, variant: str = "onnx",
                        runtime: str = "onnxruntime", max_length: int | None = None) -> GenerationEstimate:
    """Expected TTFT, total latency and tokens/s over the prompt-length histogram ``counts``."""
    keys = np.array(sorted(int(k) for k in counts))
    if max_length is not None:
        keys = np.minimum(keys, max(1, max_length - new_tokens + 1))
    weights = np.array([counts[k] for k in sorted(int(k) for k in counts)], dtype=np.float64)
    cdf = np.cumsum(weights) / weights.sum()
    p_max = cdf ** batch_size - np.concatenate([[0.0], cdf[:-1]]) ** batch_size
    ttft = prefill.at_batch(batch_size, keys)
    steps = np.arange(max(new_tokens - 1, 0))
    pasts = keys[:, None] + steps[None, :]
    if decode is not None and steps.size:
        decode_ms = decode.at_batch(batch_size, pasts.ravel()).reshape(pasts.shape).sum(axis=1)
    elif steps.size:
        raise BenchError("no decode cells were measured; use --new-tokens 2 or more")
    else:
        decode_ms = np.zeros(len(keys))
    lo, hi = prefill.length_range
    outside = (keys < lo) | (keys > hi)
    if decode is not None and steps.size:
        dlo, dhi = decode.length_range
        outside |= (pasts.min(axis=1) < dlo) | (pasts.max(axis=1) > dhi)
    e_ttft, e_decode = float((ttft * p_max).sum()), float((decode_ms * p_max).sum())
    total = e_ttft + e_decode
    per_s = 1000.0 / total if total > 0 else float("inf")
    return GenerationEstimate(variant, runtime, batch_size, new_tokens, float((keys * p_max).sum()),
                              e_ttft, e_decode, total, e_decode / max(len(steps), 1),
                              batch_size * new_tokens * per_s, batch_size * per_s,
                              float(p_max[outside].sum()))
