"""Tokenize rows once, batch them by sorted length, and run any variant's session over them.

Rows are sorted by token count and cut into batches padded to their longest row (right
padding), so little compute goes to padding; every variant runs the same batches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..bench.model_dir import ModelDir
from ..errors import BenchError

PAST_PREFIX = "past_key_values."
Feeds = dict[str, np.ndarray]
# One batch's outputs (by name) and the batch -> a per-row array for the batch's rows.
Reducer = Callable[[dict[str, np.ndarray], "Batch"], np.ndarray]


@dataclass(frozen=True)
class Batch:
    rows: np.ndarray            # positions of the batch's rows in the encoded list
    feeds: Feeds
    lengths: np.ndarray         # tokens per row (unpadded)


def encode(tokenizer: Any, texts: Sequence[Any], max_length: int, batch_size: int,
           max_tokens: int | None = None, uniform: bool = False) -> list[Batch]:
    """Length-sorted, padded batches of ``texts`` (strings or (text, pair) tuples).

    ``max_tokens`` caps batch size x padded length (the logits of a language model grow with it);
    ``uniform`` pads every batch to the longest row of all.
    """
    firsts = [t if isinstance(t, str) else t[0] for t in texts]
    pairs = None if not texts or isinstance(texts[0], str) else [t[1] for t in texts]
    enc = tokenizer(firsts, pairs, truncation=True, max_length=max_length)
    ids, types = enc["input_ids"], enc.get("token_type_ids")
    lengths = np.array([len(r) for r in ids])
    order = np.argsort(lengths, kind="stable")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    batches, start = [], 0
    while start < len(order):
        size = batch_size
        if max_tokens:
            longest = int(lengths[order[min(start + size, len(order)) - 1]])
            size = max(1, min(batch_size, max_tokens // max(longest, 1)))
        rows = order[start:start + size]
        batches.append(_pad(rows, ids, types, lengths, pad, int(lengths.max()) if uniform else None))
        start += size
    return batches


def _pad(rows: np.ndarray, ids: list[list[int]], types: list[list[int]] | None, lengths: np.ndarray,
         pad: int, pad_to: int | None = None) -> Batch:
    n = pad_to or int(lengths[rows].max())
    input_ids = np.full((len(rows), n), pad, dtype=np.int64)
    mask = np.zeros((len(rows), n), dtype=np.int64)
    token_types = np.zeros((len(rows), n), dtype=np.int64)
    for i, r in enumerate(rows):
        k = int(lengths[r])
        input_ids[i, :k], mask[i, :k] = ids[r], 1
        if types is not None:
            token_types[i, :k] = types[r]
    positions = np.tile(np.arange(n, dtype=np.int64), (len(rows), 1))
    feeds = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": token_types,
             "position_ids": positions}
    return Batch(rows, feeds, lengths[rows])


def model_feeds(model: ModelDir, session: Any, batch: Batch) -> Feeds:
    """The batch's feeds the graph takes, with an empty cache for decoders exported with past."""
    out: Feeds = {}
    b = len(batch.rows)
    for inp in session.get_inputs():
        if inp.name in batch.feeds:
            out[inp.name] = batch.feeds[inp.name]
        elif inp.name.startswith(PAST_PREFIX):
            heads, dim = _kv_dims(inp.shape, model.config)
            dtype = np.float16 if inp.type == "tensor(float16)" else np.float32
            out[inp.name] = np.zeros((b, heads, 0, dim), dtype=dtype)
        else:
            raise BenchError(f"{str(model.path)!r} takes input {inp.name!r}, which accuracy scoring "
                             "cannot fill from text; score a text model's export")
    return out


def _kv_dims(shape: Sequence[Any], config: dict[str, Any]) -> tuple[int, int]:
    if len(shape) == 4 and isinstance(shape[1], int) and isinstance(shape[3], int):
        return shape[1], shape[3]
    heads = int(config.get("num_attention_heads") or config.get("n_head") or 0)
    hidden = int(config.get("hidden_size") or config.get("n_embd") or 0)
    if not heads or not hidden:
        raise BenchError("cannot tell the cache's heads and head size from the graph or config.json; "
                         "re-export the model")
    kv = int(config.get("num_key_value_heads") or heads)
    return kv, int(config.get("head_dim") or hidden // heads)


def run_rows(model: ModelDir, session: Any, batches: Sequence[Batch], reduce: Reducer, n: int,
             outputs: Sequence[str]) -> np.ndarray:
    """Run every batch and gather ``reduce``'s per-row results in row order (n rows)."""
    result: np.ndarray | None = None
    for batch in batches:
        got = dict(zip(outputs, session.run(list(outputs), model_feeds(model, session, batch))))
        per_row = reduce(got, batch)
        if result is None:
            result = np.empty((n, *per_row.shape[1:]), dtype=per_row.dtype)
        result[batch.rows] = per_row
    if result is None:
        raise BenchError("no rows to score; pass accuracy data with at least one row")
    return result


def make_session(path: Any, threads: int | None = None) -> Any:
    """An onnxruntime session on all physical cores (or ``threads``), denormals flushed."""
    from ..bench.runner import SessionSettings, make_session as bench_session, physical_cores

    return bench_session(path, SessionSettings(intra_op_threads=threads or physical_cores()))
