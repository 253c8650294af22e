"""Real tokenized batches at chosen shapes, for verifying an exported model on real data.

For each ``(label, batch_size, seq_len)`` the rows whose natural token length is closest to
``seq_len`` are taken (exact matches first, ties in data order; rows repeat when there are
fewer than ``batch_size``), tokenized with truncation at ``seq_len`` and padded to it on the
tokenizer's padding side. Feeds are int64 numpy arrays of shape ``(batch_size, seq_len)``
with the keys the tokenizer produces (input_ids, attention_mask, token_type_ids, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..data.rows import TextInput, TextRows
from ..errors import ProfileError
from .tokenize import LengthCounter

Shape = tuple[str, int, int]


def real_batches(tokenizer: Any, texts: TextRows | Sequence[TextInput], shapes: Sequence[Shape],
                 *, lengths: np.ndarray | None = None) -> list[tuple[str, dict[str, np.ndarray]]]:
    """``[(label, {input name: int64 array (batch_size, seq_len)})]`` built from real rows."""
    rows = texts if isinstance(texts, TextRows) else TextRows.from_inputs(list(texts))
    if len(rows) == 0:
        raise ProfileError("no texts to build real batches from; profile a non-empty dataset")
    natural = lengths if lengths is not None else LengthCounter(tokenizer)(rows)
    return [(label, _batch(tokenizer, rows, natural, int(b), int(n))) for label, b, n in shapes]


def pick_rows(natural: np.ndarray, batch_size: int, seq_len: int) -> np.ndarray:
    """Indices of the ``batch_size`` rows closest in length to ``seq_len`` (cycled if too few)."""
    order = np.lexsort((np.arange(len(natural)), np.abs(natural - seq_len)))
    return np.resize(order, batch_size)


def _batch(tokenizer: Any, rows: TextRows, natural: np.ndarray, batch_size: int,
           seq_len: int) -> dict[str, np.ndarray]:
    if batch_size < 1 or seq_len < 1:
        raise ProfileError(f"batch shape ({batch_size}, {seq_len}) is not positive")
    chosen = rows.take(pick_rows(natural, batch_size, seq_len))
    pair = chosen.values[1] if chosen.is_pair else None
    encoded = tokenizer(chosen.values[0], pair, truncation=True, max_length=seq_len)
    return {name: _pad(tokenizer, name, ids, seq_len) for name, ids in encoded.items()
            if name in tokenizer.model_input_names}


def _pad(tokenizer: Any, name: str, sequences: list[list[int]], seq_len: int) -> np.ndarray:
    out = np.full((len(sequences), seq_len), _pad_value(tokenizer, name), dtype=np.int64)
    left = getattr(tokenizer, "padding_side", "right") == "left"
    for row, ids in enumerate(sequences):
        ids = ids[:seq_len]
        if left:
            out[row, seq_len - len(ids):] = ids
        else:
            out[row, :len(ids)] = ids
    return out


def _pad_value(tokenizer: Any, name: str) -> int:
    if name == "input_ids":
        for pad in (tokenizer.pad_token_id, getattr(tokenizer, "eos_token_id", None)):
            if pad is not None:
                return int(pad)
        return 0
    if name == "token_type_ids":
        return int(getattr(tokenizer, "pad_token_type_id", 0) or 0)
    return 0
