"""Seeded row sampling: a subset of a table held in memory, or a reservoir over a stream.

Both keep the data order of the rows they pick (so in-batch padding is measured in the
order a loader would see the rows). For the same seed, the two methods pick different rows.
"""

from __future__ import annotations

import numpy as np

from .rows import TextRows


def sample_indices(total: int, rows: int | None, seed: int) -> np.ndarray | None:
    """Sorted indices of ``rows`` rows drawn without replacement, or None for all rows."""
    if rows is None or rows >= total:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, size=rows, replace=False))


class Reservoir:
    """Uniform sample of ``size`` rows from a stream of chunks (Algorithm R, vectorised per chunk).

    Memory is O(size) whatever the stream length.
    """

    def __init__(self, size: int, columns: tuple[str, ...], seed: int) -> None:
        if size < 1:
            raise ValueError("reservoir size must be positive")
        self.size, self.columns = size, columns
        self.rng = np.random.default_rng(seed)
        self.values: list[list[str]] = [[] for _ in columns]
        self.positions: list[int] = []
        self.seen = 0

    def add(self, chunk: TextRows) -> None:
        n = len(chunk)
        fill = min(max(self.size - self.seen, 0), n)
        for out, more in zip(self.values, chunk.values):
            out.extend(more[:fill])
        self.positions.extend(range(self.seen, self.seen + fill))
        if fill < n:
            self._replace(chunk, fill)
        self.seen += n

    def _replace(self, chunk: TextRows, start: int) -> None:
        index = np.arange(self.seen + start, self.seen + len(chunk))   # global row numbers
        slots = self.rng.integers(0, index + 1)                         # each row's draw
        keep = np.flatnonzero(slots < self.size)
        # several rows may hit one slot: the last one wins, as in the sequential algorithm
        last_slot, last_pos = np.unique(slots[keep][::-1], return_index=True)
        rows = keep[::-1][last_pos] + start
        for slot, row in zip(last_slot.tolist(), rows.tolist()):
            for out, more in zip(self.values, chunk.values):
                out[slot] = more[row]
            self.positions[slot] = self.seen + row

    def result(self) -> TextRows:
        """The sample in data order."""
        order = np.argsort(np.asarray(self.positions, dtype=np.int64), kind="stable")
        return TextRows(self.columns, tuple([v[i] for i in order] for v in self.values))
