"""``BenchOptions``: every benchmark option, its one default and its one check.

The CLI (``BenchOptions.from_args``), run specs and the dataset-driven export
(``BenchOptions.from_mapping``) each build one, and ``run_benchmark(model_dir, profile, options)``
takes it whatever the model's modality. Building it checks every value: a bad one raises a
one-line :class:`~shapeprof.errors.BenchError` naming the option (as its CLI flag) and the fix.
Importing this module is cheap (no numpy, torch or onnxruntime).
"""

from __future__ import annotations

import argparse
import dataclasses
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import BenchError
from .runner import (GRAPH_OPTIMIZATION, MIN_SAMPLES, MIN_TIME_S, WARMUP, SessionSettings, TimingPolicy,
                     physical_cores)

ROUNDS = 5
NEW_TOKENS = 32
GRIDS = ("quick", "full")
# The quick grid's timing: fewer rounds and calls, still 3 rounds so speedups keep an interval.
QUICK_TIMING = {"rounds": 3, "warmup": 1, "min_samples": 3}

# How ``shapeprof bench`` spells each option, for messages (options without a flag keep their name).
FLAGS = {"batch_sizes": "--batch-sizes", "sequence_lengths": "--sequence-lengths",
         "image_sizes": "--image-sizes", "variants": "--variants", "pytorch": "--no-pytorch",
         "torch_model": "--torch-model", "providers": "--providers",
         "graph_optimization": "--graph-optimization", "intra_op_threads": "--threads",
         "flush_denormals": "--flush-denormals", "warmup": "--warmup", "min_samples": "--min-samples",
         "min_time_s": "--min-time", "rounds": "--rounds", "fresh_process": "--fresh-process",
         "policies": "--policies", "policy_batch_size": "--policy-batch-size", "replay_rows": "--replay",
         "new_tokens": "--new-tokens", "progress": "--quiet", "grid": "--grid"}
TEXT_ONLY = ("policies", "replay_rows", "policy_batch_size")   # padding policies and replay


def flag(name: str) -> str:
    """``--rounds`` for ``rounds``: how the CLI spells an option (else its field name)."""
    return FLAGS.get(name, name)


@dataclass(frozen=True)
class BenchOptions:
    """How to benchmark: the sweep, the runtimes, the sessions and the timing.

    Sweep: ``batch_sizes`` and ``sequence_lengths`` (text lengths, a decoder's prompt lengths, or
    an audio model's samples per clip), ``image_sizes`` ((height, width) pairs); None takes them
    from the profile, else from the export; ``grid`` "quick" (text with a profile) measures only
    what the answer needs: the policy batch size at the lengths the padding policies' estimates
    rest on, and PyTorch at the median length; "full" the whole grid. ``policies``, ``policy_batch_size``, ``replay_rows``
    and ``replay_repeats`` weight text cells by the data; ``new_tokens`` sizes a decoder's
    generation sweep (None: the completions of a chat profile, else 32). ``intra_op_threads`` None (or 0) means the physical core count.
    """

    # the sweep
    grid: str = "full"
    batch_sizes: tuple[int, ...] | None = None
    sequence_lengths: tuple[int, ...] | None = None
    image_sizes: tuple[tuple[int, int], ...] | None = None
    # what is timed
    variants: tuple[str, ...] = ("onnx",)
    pytorch: bool = True
    torch_model: str | None = None
    # sessions
    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    graph_optimization: str = "all"
    intra_op_threads: int | None = None
    flush_denormals: bool = True
    # timing
    warmup: int = WARMUP
    min_samples: int = MIN_SAMPLES
    min_time_s: float = MIN_TIME_S
    rounds: int = ROUNDS
    fresh_process: bool = False
    # weighting by the data (text), generation (decoders)
    policies: tuple[str, ...] | None = None
    policy_batch_size: int | None = None
    replay_rows: int = 0
    replay_repeats: int = 1
    new_tokens: int | None = None       # None: the profile's real completions, else NEW_TOKENS
    seed: int = 0
    progress: bool = field(default=True, compare=False)

    def __post_init__(self) -> None:
        for name, value in _normalised(self).items():
            object.__setattr__(self, name, value)
        check(self)

    # ---- builders ---------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | BenchOptions | None = None,
                     **overrides: Any) -> BenchOptions:
        """From field names (a run spec's or a caller's mapping); unknown keys are errors."""
        if isinstance(values, BenchOptions):
            return values.replace(**overrides) if overrides else values
        given = {**(values or {}), **overrides}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(given) - known)
        if unknown:
            raise BenchError(f"unknown benchmark option {unknown[0]!r}; known: {', '.join(sorted(known))}")
        return cls(**given)

    @classmethod
    def quick(cls, **overrides: Any) -> BenchOptions:
        """The quick grid with its timing (3 rounds, 1 warm-up call, 3 samples), then ``overrides``."""
        return cls(**{"grid": "quick", **QUICK_TIMING, **overrides})

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BenchOptions:
        """From ``shapeprof bench``'s parsed arguments."""
        from .media_sweep import parse_image_sizes
        from .sweep import parse_int_list

        def ints(text: str | None, name: str) -> tuple[int, ...] | None:
            return None if text is None else parse_int_list(text, flag(name))

        return cls(
            batch_sizes=ints(args.batch_sizes, "batch_sizes"),
            sequence_lengths=ints(args.sequence_lengths, "sequence_lengths"),
            image_sizes=parse_image_sizes(args.image_sizes) if args.image_sizes else None,
            variants=split_names(args.variants, "--variants"), pytorch=not args.no_pytorch,
            torch_model=args.torch_model, providers=split_names(args.providers, "--providers"),
            graph_optimization=args.graph_optimization, intra_op_threads=args.threads,
            flush_denormals=args.flush_denormals, warmup=args.warmup, min_samples=args.min_samples,
            min_time_s=args.min_time, rounds=args.rounds, fresh_process=args.fresh_process,
            policies=split_names(args.policies, "--policies") if args.policies else None,
            policy_batch_size=args.policy_batch_size, replay_rows=args.replay,
            new_tokens=args.new_tokens, progress=not args.quiet, grid=args.grid)

    def replace(self, **changes: Any) -> BenchOptions:
        """A copy with ``changes``, checked again."""
        return dataclasses.replace(self, **changes)

    # ---- what the stages use ----------------------------------------------------------------
    def threads(self) -> int:
        """Intra-op threads: the given count, else the physical cores."""

        return int(self.intra_op_threads or physical_cores())

    def session_settings(self) -> SessionSettings:

        return SessionSettings(self.providers, self.graph_optimization, self.threads(),
                               flush_denormals=self.flush_denormals)

    def timing(self) -> TimingPolicy:

        return TimingPolicy(self.warmup, self.min_samples, self.min_time_s)

    def text_only_given(self) -> list[str]:
        """The text-only options (padding policies, replay) set away from their defaults."""
        return [name for name in TEXT_ONLY if getattr(self, name)]


def split_names(text: str, option: str) -> tuple[str, ...]:
    """``"a, b"`` -> ("a", "b"); an empty list is a one-line error."""
    items = tuple(t.strip() for t in str(text).split(",") if t.strip())
    if not items:
        raise BenchError(f"{option} {text!r} is an empty list; give comma-separated names")
    return items


# ---- normalising and checking ------------------------------------------------------------------
def _normalised(options: BenchOptions) -> dict[str, Any]:
    """Lists as tuples (the options are frozen and hashable)."""
    out: dict[str, Any] = {}
    for name in ("batch_sizes", "sequence_lengths"):
        out[name] = _tuple(getattr(options, name), name, int)
    sizes = options.image_sizes
    out["image_sizes"] = None if sizes is None else tuple(_image_size(s) for s in sizes)
    for name in ("variants", "providers", "policies"):
        out[name] = _tuple(getattr(options, name), name, str)
    if options.torch_model is not None:
        out["torch_model"] = str(options.torch_model)
    return out


def _tuple(values: Iterable[Any] | None, name: str, kind: type) -> tuple[Any, ...] | None:
    if values is None:
        return None
    if isinstance(values, (str, bytes)) and kind is not str:
        raise BenchError(f"{flag(name)} must be a list of {kind.__name__}s, not {values!r}")
    if isinstance(values, str):
        return (values,)
    return tuple(kind(v) if kind is int and _is_int(v) else v for v in values)


def _image_size(size: Sequence[int] | int) -> tuple[int, int]:
    if isinstance(size, int):
        return (size, size)
    h, w = tuple(size)
    return (int(h), int(w))


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check(options: BenchOptions) -> None:
    """Every range, every name: the first bad option as a one-line BenchError."""
    least = {"warmup": 0, "min_samples": 1, "rounds": 1, "replay_rows": 0, "replay_repeats": 1, "seed": 0}
    for name, low in least.items():
        _at_least(name, getattr(options, name), low)
    _at_least_or_none("new_tokens", options.new_tokens, 1)
    _at_least_or_none("intra_op_threads", options.intra_op_threads, 0)
    _at_least_or_none("policy_batch_size", options.policy_batch_size, 1)
    if not isinstance(options.min_time_s, (int, float)) or isinstance(options.min_time_s, bool) \
            or not options.min_time_s >= 0:
        raise BenchError(f"--min-time must be a number of seconds >= 0, not {options.min_time_s!r}; "
                         "give e.g. --min-time 0.1")
    for name in ("batch_sizes", "sequence_lengths"):
        for value in getattr(options, name) or ():
            _at_least(name, value, 1, what="sizes")
    for size in options.image_sizes or ():
        if min(size) < 1:
            raise BenchError(f"--image-sizes has {size[0]}x{size[1]}, a side below 1; sides must be "
                             "positive, e.g. --image-sizes 224x224")
    _check_names(options)


def _at_least(name: str, value: Any, low: int, what: str = "") -> None:
    if not _is_int(value) or value < low:
        noun = f" ({what})" if what else ""
        hint = " (0: the physical cores)" if name == "intra_op_threads" else ""
        raise BenchError(f"{flag(name)} must be an integer >= {low}{noun}, not {value!r}; "
                         f"give {flag(name)} {low} or more{hint}")


def _at_least_or_none(name: str, value: Any, low: int) -> None:
    if value is not None:
        _at_least(name, value, low)


def _check_names(options: BenchOptions) -> None:
    from .variants import check_variant_names

    check_variant_names(options.variants)
    if options.grid not in GRIDS:
        raise BenchError(f"--grid {options.grid!r} is unknown; choose quick or full")
    if options.graph_optimization not in GRAPH_OPTIMIZATION:
        raise BenchError(f"--graph-optimization {options.graph_optimization!r} is unknown; choose one "
                         f"of {', '.join(GRAPH_OPTIMIZATION)}")
    if not options.providers:
        raise BenchError("--providers is empty; give e.g. --providers CPUExecutionProvider")
    if options.policies is not None and not options.policies:
        raise BenchError("--policies is empty; give e.g. --policies longest,sorted or drop it")
