"""Padding waste: padded tokens per real token, for common padding policies.

Policies (``real tokens`` are the tokens the model keeps after truncation to its limit):

* ``max_length``: every row padded to the model's limit.
* ``fixed``: every row padded (or cut) to ``FIXED_LENGTH`` (128) tokens, capped at the limit.
* ``longest``: batches of ``batch_size`` rows in data order, padded to their longest row.
* ``multiple_of_8``: as ``longest``, rounded up to a multiple of 8 (capped at the limit).
* ``buckets``: each row padded to the edge of its recommended bucket.

In-batch policies need the row order; ``InBatchPadding`` consumes lengths chunk by chunk
(carrying a partial batch over), so streams are measured in bounded memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .stats import as_arrays

FIXED_LENGTH = 128


@dataclass(frozen=True)
class PaddingWaste:
    """Padding cost of one policy (at one batch size for in-batch policies)."""

    policy: str
    padded_tokens: int
    real_tokens: int
    batch_size: int | None = None
    pad_to: int | None = None             # the fixed length, for fixed-length policies
    truncated_rows: int = 0               # rows the policy itself cuts (fixed length < row)

    @property
    def waste(self) -> float:
        return self.padded_tokens / self.real_tokens if self.real_tokens else 0.0

    @property
    def label(self) -> str:
        if self.pad_to is not None:
            return f"{self.policy} ({self.pad_to})"
        return self.policy + (f" @ batch {self.batch_size}" if self.batch_size else "")

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "batch_size": self.batch_size, "pad_to": self.pad_to,
                "padded_tokens": self.padded_tokens, "real_tokens": self.real_tokens,
                "waste": self.waste, "truncated_rows": self.truncated_rows}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaddingWaste:
        return cls(data["policy"], int(data["padded_tokens"]), int(data["real_tokens"]),
                   data.get("batch_size"), data.get("pad_to"), int(data.get("truncated_rows", 0)))


class InBatchPadding:
    """Padding of consecutive batches of ``batch_size`` rows, padded to their longest row
    rounded up to a multiple of ``multiple``, and capped at ``cap``."""

    def __init__(self, batch_size: int, multiple: int = 1, cap: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError("batch sizes must be positive")
        self.batch_size, self.multiple, self.cap = batch_size, multiple, cap
        self.carry = np.zeros(0, dtype=np.int64)
        self.padded = 0
        self.real = 0

    def add(self, lengths: np.ndarray) -> None:
        lengths = np.concatenate([self.carry, np.asarray(lengths, dtype=np.int64)])
        full = len(lengths) // self.batch_size * self.batch_size
        self._pad(lengths[:full].reshape(-1, self.batch_size))
        self.carry = lengths[full:]

    def finish(self) -> tuple[int, int]:
        """(padded tokens, real tokens), counting a last partial batch."""
        if len(self.carry):
            self._pad(self.carry.reshape(1, -1))
            self.carry = self.carry[:0]
        return self.padded, self.real

    def _pad(self, batches: np.ndarray) -> None:
        if batches.size == 0:
            return
        longest = batches.max(axis=1)
        target = -(-longest // self.multiple) * self.multiple
        if self.cap is not None:
            target = np.minimum(target, self.cap)    # lengths are already <= cap
        self.padded += int((target[:, None] - batches).sum())
        self.real += int(batches.sum())


def fixed_padding(counts: Mapping[int, int], pad_to: int, policy: str) -> PaddingWaste:
    """Every row padded to ``pad_to``; longer rows are cut to it."""
    values, weights = as_arrays(counts)
    kept = np.minimum(values, pad_to)
    real = int((kept * weights).sum())
    padded = int(((pad_to - kept) * weights).sum())
    cut = int(weights[values > pad_to].sum())
    return PaddingWaste(policy, padded, real, pad_to=pad_to, truncated_rows=cut)


def padding_report(counts: Mapping[int, int], in_batch: Sequence[tuple[str, InBatchPadding]],
                   max_length: int | None, bucket_padded: int) -> tuple[PaddingWaste, ...]:
    """All policies: fixed ones from the histogram, in-batch ones from their accumulators."""
    values, weights = as_arrays(counts)
    real = int((values * weights).sum())
    top = max_length if max_length is not None else int(values[-1])
    out = [fixed_padding(counts, top, "max_length"),
           fixed_padding(counts, min(FIXED_LENGTH, top), "fixed")]
    for policy, acc in in_batch:
        padded, real_in_batch = acc.finish()
        out.append(PaddingWaste(policy, padded, real_in_batch, batch_size=acc.batch_size))
    out.append(PaddingWaste("buckets", bucket_padded, real))
    return tuple(out)
