"""Sweep design for image and audio models: batch size x image size, or batch size x audio length.

Sizes come, in order of preference, from the caller, from an image/audio profile (the
processed sizes' p50/p90/p99 and extremes, or the one size a resizing processor gives), and
from the export itself (its static height/width, its trace size, or 1 s and 5 s of audio).
Every size is checked against the export's dynamic ranges before anything is timed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import BenchError
from .model_dir import INFO_FILE, ModelDir, _read_json

IMAGE_AXES = ("height", "width")
AUDIO_AXES = ("audio_sequence_length",)
AXES = {"image": IMAGE_AXES, "audio": AUDIO_AXES}
DEFAULT_BATCH_SIZES = (1, 8)
DEFAULT_AUDIO_LENGTHS = (16_000, 80_000)      # 1 s and 5 s at 16 kHz
QUANTILES = (50, 90, 99)

Bounds = dict[str, tuple[int, "int | None"]]


@dataclass(frozen=True, order=True)
class MediaCell:
    """One measured shape: a batch of images of ``sizes == (height, width)`` or clips of
    ``sizes == (audio_sequence_length,)``."""

    batch_size: int
    sizes: tuple[int, ...]

    @property
    def sequence_length(self) -> int:
        """Elements per sample along the size axes (pixels per channel, or audio samples)."""
        return math.prod(self.sizes)

    @property
    def tokens(self) -> int:
        return self.batch_size * self.sequence_length

    @property
    def label(self) -> str:
        return "x".join(str(n) for n in (self.batch_size, *self.sizes))

    @property
    def phase(self) -> str:
        return ""           # one call per batch, no generation phases

    @property
    def past_length(self) -> int:
        return 0

    def spec(self) -> list[Any]:
        """The cell as results record it: [batch, *sizes]."""
        return [self.batch_size, *self.sizes]


def parse_image_sizes(text: str) -> tuple[tuple[int, int], ...]:
    """``"224x224,384x384"`` -> ((224, 224), (384, 384)); ``"224"`` means 224x224."""
    sizes = []
    for part in (p.strip().lower() for p in str(text).split(",") if p.strip()):
        h, _, w = part.partition("x")
        try:
            size = (int(h), int(w or h))
        except ValueError:
            raise BenchError(f"--image-sizes {text!r} is not a list of HxW sizes; "
                             "write e.g. --image-sizes 224x224,384x384") from None
        if min(size) < 1:
            raise BenchError(f"--image-sizes {text!r} has a size below 1")
        sizes.append(size)
    if not sizes:
        raise BenchError("--image-sizes is empty; write e.g. --image-sizes 224x224")
    return tuple(sizes)


def export_shapes(model: ModelDir) -> tuple[Bounds, dict[str, int]]:
    """The export's dynamic ranges per axis and its trace shapes (shapeprof_export.json)."""
    info = _read_json(model.path / INFO_FILE)
    bounds = {a: (int(lo), None if hi is None else int(hi))
              for a, (lo, hi) in (info.get("dynamic_bounds") or {}).items()}
    return bounds, {a: int(n) for a, n in (info.get("trace_shapes") or {}).items()}


def profile_sizes(profile: Any, modality: str) -> list[tuple[int, ...]]:
    """The processed sizes the profile's data gives: one when constant, else quantiles + extremes."""
    axes = [profile.axes[a] for a in AXES[modality]]
    if not any(s.varies for s in axes):
        return [tuple(s.min for s in axes)]
    sizes = {tuple(math.ceil(s.p(q)) for s in axes) for q in QUANTILES}
    sizes |= {tuple(s.min for s in axes), tuple(s.max for s in axes)}
    return sorted(sizes)


def default_sizes(modality: str, bounds: Bounds, trace: Mapping[str, int]) -> list[tuple[int, ...]]:
    """Without a profile: the export's (static or traced) image size, or 1 s and 5 s of audio."""
    if modality == "image":
        return [tuple(bounds[a][0] if _static(bounds.get(a)) else trace.get(a, 224) for a in IMAGE_AXES)]
    lo, hi = bounds.get(AUDIO_AXES[0], (1, None))
    inside = [n for n in DEFAULT_AUDIO_LENGTHS if n >= lo and (hi is None or n <= hi)]
    return [(n,) for n in inside] or [(hi if hi is not None else lo,)]


def design_media_sweep(model: ModelDir, modality: str, profile: Any = None,
                       batch_sizes: Iterable[int] | None = None,
                       sizes: Iterable[Sequence[int] | int] | None = None) -> list[MediaCell]:
    """The cells to measure, sorted by batch size then size, all inside the export's ranges."""
    bounds, trace = export_shapes(model)
    if batch_sizes is None:
        batch_sizes = getattr(profile, "batch_sizes", None) or DEFAULT_BATCH_SIZES
    batches = sorted({int(b) for b in batch_sizes})
    if sizes is not None:
        chosen = sorted({tuple(int(n) for n in ((s,) if isinstance(s, int) else s)) for s in sizes})
    elif profile is not None:
        chosen = profile_sizes(profile, modality)
    else:
        chosen = default_sizes(modality, bounds, trace)
    if not batches or not chosen or min(batches) < 1:
        raise BenchError(f"the sweep needs positive batch sizes and at least one size; got batch sizes "
                         f"{batches} and sizes {chosen}")
    check_sizes(modality, chosen, batches, bounds)
    return [MediaCell(b, s) for b in batches for s in chosen]


def check_sizes(modality: str, sizes: Sequence[tuple[int, ...]], batches: Sequence[int],
                bounds: Bounds) -> None:
    """Refuse a size the export cannot run: the wrong rank, or outside a (static) range."""
    axes = AXES[modality]
    for size in sizes:
        if len(size) != len(axes):
            raise BenchError(f"size {size} does not match the axes {', '.join(axes)}")
        for axis, n in zip(axes, size):
            _inside(axis, n, bounds.get(axis))
    for b in batches:
        _inside("batch_size", b, bounds.get("batch_size"))


def _inside(axis: str, n: int, bound: tuple[int, int | None] | None) -> None:
    if bound is None or (n >= bound[0] and (bound[1] is None or n <= bound[1])):
        return
    lo, hi = bound
    fixed = f"is static at {lo}" if lo == hi else f"runs {lo}..{'any' if hi is None else hi}"
    raise BenchError(f"{axis} {n} is outside the export's range: {axis} {fixed}; measure sizes in "
                     "that range or re-export with a wider one")


def _static(bound: tuple[int, int | None] | None) -> bool:
    return bound is not None and bound[0] == bound[1]
