"""Mergeable summaries of one block of rows, so a profile can be measured block by block anywhere.

A worker turns a block's natural token lengths into a ``BlockSummary``: the exact length
histogram (value -> count), rows read, truncation counts and, for the in-batch padding
policies, what the single-process accumulator needs to stay exact across block boundaries:
the block's first and last ``b - 1`` lengths and, for every phase ``s`` in ``0..b-1``, the
padding of the whole batches that start at row ``s``. ``BlockMerger`` adds the summaries, in
data order, into the same ``LengthAccumulator`` the single-process path fills, so every
statistic computed from it afterwards is identical. A summary holds O(distinct lengths +
batch sizes) numbers, never rows (apart from a few seeded example rows for real batches).
"""

from __future__ import annotations

import heapq
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...data.rows import TextRows
from ..measure import EXAMPLE_ROWS, LengthAccumulator, Measurement
from ..padding import InBatchPadding

EXAMPLES_PER_BLOCK = 64


@dataclass(frozen=True)
class PhasePadding:
    """One in-batch policy over one block: padded and real tokens of whole batches per phase."""

    padded: list[int]         # padded[s]: whole batches starting at row s
    real: list[int]


@dataclass(frozen=True)
class BlockSummary:
    """What a worker sends back for one block of rows."""

    rows_read: int
    counts: dict[int, int]                 # capped length -> rows
    truncated: int
    natural_max: int
    edges: dict[int, tuple[list[int], list[int]]]   # batch size -> (first b-1, last b-1 lengths)
    padding: list[PhasePadding]            # in the order of LengthAccumulator.in_batch
    examples: list[tuple[int, list[str]]]  # (seeded hash, the row's texts)

    def to_json(self) -> str:
        return json.dumps({"rows_read": self.rows_read, "counts": self.counts,
                           "truncated": self.truncated, "natural_max": self.natural_max,
                           "edges": self.edges, "examples": self.examples,
                           "padding": [[p.padded, p.real] for p in self.padding]})

    @classmethod
    def from_json(cls, text: str) -> BlockSummary:
        d = json.loads(text)
        return cls(int(d["rows_read"]), {int(k): int(v) for k, v in d["counts"].items()},
                   int(d["truncated"]), int(d["natural_max"]),
                   {int(b): (list(e[0]), list(e[1])) for b, e in d["edges"].items()},
                   [PhasePadding(list(p[0]), list(p[1])) for p in d["padding"]],
                   [(int(k), list(t)) for k, t in d["examples"]])


def summarize_block(texts: TextRows, natural: np.ndarray, max_length: int | None,
                    batch_sizes: Sequence[int], seed: int) -> BlockSummary:
    """A block's summary from its texts and their natural (untruncated) token lengths."""
    natural = np.asarray(natural, dtype=np.int64)
    capped = natural if max_length is None else np.minimum(natural, max_length)
    binc = np.bincount(capped) if capped.size else np.zeros(0, dtype=np.int64)
    counts = {int(k): int(binc[k]) for k in np.flatnonzero(binc)}
    truncated = 0 if max_length is None else int((natural > max_length).sum())
    policies = LengthAccumulator(max_length, batch_sizes).in_batch
    edges = {acc.batch_size: _edges(capped, acc.batch_size) for _, acc in policies}
    padding = [_phase_padding(capped, acc) for _, acc in policies]
    return BlockSummary(len(texts), counts, truncated, int(natural.max()) if natural.size else 0,
                        edges, padding, block_examples(texts, seed))


def _edges(lengths: np.ndarray, b: int) -> tuple[list[int], list[int]]:
    keep = b - 1
    return lengths[:keep].tolist(), (lengths[len(lengths) - keep:].tolist() if keep else [])


def _phase_padding(lengths: np.ndarray, like: InBatchPadding) -> PhasePadding:
    """Whole batches of ``like.batch_size`` rows starting at each phase s < batch size."""
    b = like.batch_size
    padded, real = [], []
    for s in range(min(b, len(lengths))):
        whole = (len(lengths) - s) // b * b
        acc = InBatchPadding(b, like.multiple, like.cap)
        acc.add(lengths[s:s + whole])
        padded.append(acc.padded)
        real.append(acc.real)
    return PhasePadding(padded, real)


def example_key(row: Sequence[str], seed: int) -> int:
    """A seeded hash of a row: the examples kept are the rows with the smallest keys."""
    return zlib.crc32("\x1f".join(row).encode("utf-8", "surrogatepass"), seed & 0xFFFFFFFF)


def block_examples(texts: TextRows, seed: int) -> list[tuple[int, list[str]]]:
    rows = [list(r) for r in zip(*texts.values)]
    keyed = ((example_key(r, seed), r) for r in rows)
    return heapq.nsmallest(EXAMPLES_PER_BLOCK, keyed, key=lambda kr: kr[0])


class BlockMerger:
    """Adds block summaries, in data order, into one ``LengthAccumulator``."""

    def __init__(self, max_length: int | None, batch_sizes: Sequence[int],
                 columns: tuple[str, ...]) -> None:
        self.acc = LengthAccumulator(max_length, batch_sizes)
        self.columns = columns
        self.rows_read = 0
        self.blocks = 0
        self._examples: list[tuple[int, int, list[str]]] = []   # max-heap by -key

    def add(self, block: BlockSummary) -> None:
        acc = self.acc
        counts = np.zeros(max(block.counts, default=-1) + 1, dtype=np.int64)
        counts[list(block.counts)] = list(block.counts.values())
        acc.add_counts(counts, block.truncated, block.natural_max)
        for (_, batches), phases in zip(acc.in_batch, block.padding):
            merge_padding(batches, block, phases)
        self.rows_read += block.rows_read
        self.blocks += 1
        self._keep_examples(block.examples)

    def _keep_examples(self, examples: list[tuple[int, list[str]]]) -> None:
        for key, row in examples:
            item = (-key, self.blocks, row)
            if len(self._examples) < EXAMPLE_ROWS:
                heapq.heappush(self._examples, item)
            elif -key > self._examples[0][0]:
                heapq.heapreplace(self._examples, item)

    def measurement(self) -> Measurement:
        rows = [row for _, _, row in sorted(self._examples, key=lambda e: -e[0])]
        values = tuple([r[i] for r in rows] for i in range(len(self.columns)))
        return Measurement(self.acc, TextRows(self.columns, values), self.acc.rows)


def merge_padding(acc: InBatchPadding, block: BlockSummary, phases: PhasePadding) -> None:
    """Continue ``acc`` over the block exactly as if its lengths had been added row by row."""
    b, n = acc.batch_size, sum(block.counts.values())
    head, tail = block.edges[b]
    s = (b - len(acc.carry)) % b          # rows that close the batch left open before the block
    if n <= s:
        acc.add(np.asarray(head[:n], dtype=np.int64))
        return
    acc.add(np.asarray(head[:s], dtype=np.int64))
    acc.padded += phases.padded[s]
    acc.real += phases.real[s]
    t = (n - s) % b                      # rows after the last whole batch: the new open batch
    if t:
        acc.add(np.asarray(tail[len(tail) - t:], dtype=np.int64))


def decode(value: Any) -> BlockSummary:
    """A summary as it comes out of a Ray Data row (a JSON string)."""
    return BlockSummary.from_json(value if isinstance(value, str) else bytes(value).decode())
