"""What runs inside a Ray worker: the model's fast tokenizer, loaded once, turning blocks into summaries.

``TokenizeBlocks`` is the callable class ``map_batches`` runs in an actor pool: its constructor
loads the tokenizer once per worker; each call takes a pyarrow block of text rows and returns
one row holding the block's ``BlockSummary`` as JSON. Importing this module does not import Ray.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...data.rows import TextRows
from .blocks import summarize_block

SUMMARY = "summary"


class TokenizeBlocks:
    """Block of text rows -> one JSON summary row (lengths histogram, padding phases, examples)."""

    def __init__(self, model: str, columns: Sequence[str], max_length: int | None,
                 batch_sizes: Sequence[int], seed: int) -> None:
        from ..tokenize import LengthCounter, load_tokenizer

        tokenizer, _ = load_tokenizer(model)
        self.counter = LengthCounter(tokenizer)
        self.columns = tuple(columns)
        self.max_length = max_length
        self.batch_sizes = tuple(batch_sizes)
        self.seed = seed

    def lengths(self, texts: TextRows) -> np.ndarray:
        """Natural token lengths of the block's rows."""
        return self.counter(texts)

    def __call__(self, batch: Any) -> dict[str, np.ndarray]:
        texts = TextRows.from_table(batch, self.columns)
        summary = summarize_block(texts, self.lengths(texts), self.max_length, self.batch_sizes,
                                  self.seed)
        return {SUMMARY: np.array([summary.to_json()], dtype=object)}
