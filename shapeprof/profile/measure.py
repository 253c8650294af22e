"""Token lengths of a dataset's rows, accumulated into a histogram and padding counters.

Three ways through the data, all feeding one ``LengthAccumulator`` in data order:
in memory (all rows or a seeded subset), a reservoir sample of a stream, or every row of a
stream (memory bounded by one chunk plus a small example reservoir kept for real batches).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..data.load import iter_texts, load_texts, progress_bar, stream_sample, empty_error
from ..data.rows import TextRows
from ..data.sampling import Reservoir
from ..data.source import ResolvedDataset
from .padding import InBatchPadding
from .tokenize import LengthCounter

TOKENIZE_BATCH = 8192
EXAMPLE_ROWS = 4096      # texts kept from a full stream, for real batches


class LengthAccumulator:
    """Histogram of lengths the model sees, truncation counts and in-batch padding counters."""

    def __init__(self, max_length: int | None, batch_sizes: Sequence[int]) -> None:
        self.max_length = max_length
        self.counts = np.zeros(0, dtype=np.int64)       # counts[length]
        self.rows = self.truncated = self.natural_max = 0
        self.in_batch = [(policy, InBatchPadding(b, multiple, max_length))
                         for policy, multiple in (("longest", 1), ("multiple_of_8", 8))
                         for b in sorted(set(batch_sizes))]

    def add(self, natural: np.ndarray) -> None:
        if natural.size == 0:
            return
        lengths = natural if self.max_length is None else np.minimum(natural, self.max_length)
        truncated = 0 if self.max_length is None else int((natural > self.max_length).sum())
        self.add_counts(np.bincount(lengths), truncated, int(natural.max()))
        for _, acc in self.in_batch:
            acc.add(lengths)

    def add_counts(self, counts: np.ndarray, truncated: int, natural_max: int) -> None:
        """Merge a histogram (``counts[length]`` rows, lengths already capped): the counts, rows,
        truncation and longest natural length; the in-batch padding is the caller's."""
        if len(counts) > len(self.counts):
            self.counts = np.pad(self.counts, (0, len(counts) - len(self.counts)))
        self.counts[: len(counts)] += counts
        self.rows += int(counts.sum())
        self.truncated += truncated
        self.natural_max = max(self.natural_max, natural_max)

    def length_counts(self) -> dict[int, int]:
        nonzero = np.flatnonzero(self.counts)
        return {int(k): int(self.counts[k]) for k in nonzero}


@dataclass
class Measurement:
    acc: LengthAccumulator
    texts: TextRows          # the sample (or, for a full stream, an example reservoir)
    rows_total: int | None   # rows in the split, when known


class Bar(Protocol):
    """What a progress bar (tqdm) is asked to do here."""

    def update(self, n: int) -> object: ...


def _measure_texts(texts: TextRows, counter: LengthCounter, acc: LengthAccumulator,
                   bar: Bar) -> None:
    for start in range(0, len(texts), TOKENIZE_BATCH):
        part = TextRows(texts.columns, tuple(v[start:start + TOKENIZE_BATCH] for v in texts.values))
        acc.add(counter(part))
        bar.update(len(part))


def measure_in_memory(ds: ResolvedDataset, counter: LengthCounter, acc: LengthAccumulator,
                      rows: int | None, seed: int, progress: bool) -> Measurement:
    texts, total = load_texts(ds, rows, seed)
    with progress_bar(progress, len(texts), "tokenizing") as bar:
        _measure_texts(texts, counter, acc, bar)
    return Measurement(acc, texts, total)


def measure_stream_sample(ds: ResolvedDataset, counter: LengthCounter, acc: LengthAccumulator,
                          rows: int, seed: int, progress: bool) -> Measurement:
    texts, total = stream_sample(ds, rows, seed, progress)
    with progress_bar(progress, len(texts), "tokenizing") as bar:
        _measure_texts(texts, counter, acc, bar)
    return Measurement(acc, texts, total)


def measure_stream(ds: ResolvedDataset, counter: LengthCounter, acc: LengthAccumulator,
                   seed: int, progress: bool, chunks: Iterable[TextRows] | None = None) -> Measurement:
    examples = Reservoir(EXAMPLE_ROWS, ds.spec.text_columns, seed)
    with progress_bar(progress, None, "tokenizing") as bar:
        for chunk in chunks if chunks is not None else iter_texts(ds):
            _measure_texts(chunk, counter, acc, bar)
            examples.add(chunk)
    if acc.rows == 0:
        raise empty_error(ds)
    return Measurement(acc, examples.result(), acc.rows)
