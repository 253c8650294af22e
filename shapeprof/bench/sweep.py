"""Sweep design: which (batch size, sequence length) cells to measure.

With a profile, sequence lengths are the data's p50/p90/p99 (rounded up), its shortest and
longest rows, and the recommended bucket edges, so every length a padding policy can produce is
measured or bracketed (plus the fixed lengths of the padding policies); batch sizes are the profile's (else 1 and 32). Without a profile the
grid is small: batch 1 and 8 x lengths 16, 64, 128. Given lists override either axis.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import BenchError
from .profile_view import ProfileView

DEFAULT_BATCH_SIZES = (1, 8)
DEFAULT_LENGTHS = (16, 64, 128)
PROFILE_BATCH_SIZES = (1, 32)
PROFILE_QUANTILES = (50, 90, 99)


class SweepCell(Protocol):
    """One measured shape, whatever the modality: a text :class:`Cell` or an image/audio
    ``MediaCell``. ``sequence_length`` is the elements per row (tokens, pixels or samples)."""

    @property
    def batch_size(self) -> int: ...
    @property
    def sequence_length(self) -> int: ...
    @property
    def phase(self) -> str: ...
    @property
    def past_length(self) -> int: ...
    @property
    def tokens(self) -> int: ...
    @property
    def label(self) -> str: ...
    def spec(self) -> list[Any]: ...
    def __hash__(self) -> int: ...


@dataclass(frozen=True, order=True)
class Cell:
    """A batch of ``sequence_length`` new tokens per row; generation cells also name their phase
    (``prefill``: the prompt, empty cache; ``decode``: one token after ``past_length`` cached)."""

    batch_size: int
    sequence_length: int
    phase: str = ""
    past_length: int = 0

    @property
    def tokens(self) -> int:
        return self.batch_size * self.sequence_length

    @property
    def label(self) -> str:
        shape = f"{self.batch_size}x{self.sequence_length}"
        if not self.phase:
            return shape
        return f"{self.phase}-{shape}" + (f"-past{self.past_length}" if self.past_length else "")

    def spec(self) -> list[Any]:
        """The cell as results record it: [batch, length] (+ [phase, past] for generation)."""
        return [self.batch_size, self.sequence_length] + ([self.phase, self.past_length] if self.phase else [])


def parse_int_list(text: str, option: str = "list") -> tuple[int, ...]:
    """``"1,8,32"`` -> (1, 8, 32); a one-line BenchError on anything else."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise BenchError(f"{option} {text!r} is not a comma-separated list of integers; "
                         f"write e.g. {option} 1,8,32") from None
    if any(v < 1 for v in values):
        raise BenchError(f"{option} {text!r} has a value below 1; sizes must be positive")
    return values


def profile_lengths(view: ProfileView) -> list[int]:
    """Quantiles, extremes and bucket edges of the profiled lengths."""
    lengths = set(view.quantile_lengths(PROFILE_QUANTILES))
    lengths |= {min(view.counts), max(view.counts)}
    lengths |= set(view.bucket_edges())
    return sorted(lengths)


def design_sweep(view: ProfileView | None = None, batch_sizes: Iterable[int] | None = None,
                 sequence_lengths: Iterable[int] | None = None, max_length: int | None = None,
                 extra_lengths: Iterable[int] = ()) -> list[Cell]:
    """The cells to measure, sorted by batch size then length.

    ``extra_lengths`` (e.g. the fixed lengths of padding policies) join profile-chosen lengths.
    """
    batches = _choose(batch_sizes, (view.batch_sizes or PROFILE_BATCH_SIZES) if view else
                      DEFAULT_BATCH_SIZES)
    if sequence_lengths is not None:
        lengths = sorted(set(int(n) for n in sequence_lengths))
        check_lengths(lengths, max_length)
    elif view is not None:
        lengths = sorted(set(profile_lengths(view)) | {int(n) for n in extra_lengths})
        check_lengths(lengths, max_length)
    else:
        lengths = [n for n in DEFAULT_LENGTHS if max_length is None or n <= max_length] or [max_length]
    cells = [Cell(b, n) for b in batches for n in lengths]
    if not cells:
        raise BenchError("the sweep is empty (no batch sizes or no sequence lengths); give at "
                         "least one of each, e.g. --batch-sizes 1 --sequence-lengths 16")
    return cells


def design_quick(view: ProfileView, policy_batch: int, pads: Iterable[int] = (),
                 max_length: int | None = None) -> tuple[list[Cell], set[Cell]]:
    """The quick grid: (cells, the cells PyTorch is timed at).

    The padding policies' estimates at ``policy_batch`` rest on lengths from the shortest row to
    the longest and on the fixed pads: measured at the shortest, p50, p90 and longest row and at
    each pad, interpolated in between (latency is close to linear in length there). PyTorch
    and batch 1 only at the median length, for onnxruntime against PyTorch.
    """
    p50, p90 = view.quantile_lengths((50, 90))
    lengths = sorted({min(view.counts), p50, p90, max(view.counts), *(int(n) for n in pads)})
    check_lengths(lengths, max_length)
    torch_cells = {Cell(1, p50), Cell(policy_batch, p50)}
    cells = sorted(torch_cells | {Cell(policy_batch, n) for n in lengths})
    return cells, torch_cells


def default_policy_batch(view: ProfileView | None, batch_sizes: Iterable[int] | None) -> int:
    """The batch size of the padding-policy estimates: the largest given or profiled size."""
    return max(_choose(batch_sizes, (view.batch_sizes or PROFILE_BATCH_SIZES) if view else DEFAULT_BATCH_SIZES))


def _choose(given: Iterable[int] | None, default: Sequence[int]) -> list[int]:
    values = sorted(set(int(v) for v in (default if given is None else given)))
    if any(v < 1 for v in values):
        raise BenchError(f"batch sizes {values} include a value below 1; sizes must be positive")
    return values


def check_lengths(lengths: Sequence[int], max_length: int | None) -> None:
    """Refuse lengths below 1 or beyond the model's limit."""
    if any(n < 1 for n in lengths):
        raise BenchError(f"sequence lengths {list(lengths)} include a value below 1")
    if max_length is not None and lengths and max(lengths) > max_length:
        raise BenchError(f"sequence length {max(lengths)} exceeds the model's limit of {max_length}; "
                         f"use lengths up to {max_length}")
