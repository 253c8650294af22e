"""Adapter over the dataset profiler's ``ShapeProfile``: the few facts the benchmark needs.

The benchmark reads a profile through duck typing (object attributes or the saved JSON), so it
keeps working while the profile's dataclass evolves: the length histogram, bucket edges,
profiled batch sizes, the model/tokenizer the profile was measured with, and the dataset spec.
Quantiles are recomputed here from the histogram (exact, numpy's linear method).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BenchError


@dataclass(frozen=True)
class ProfileView:
    """What the benchmark uses from a dataset profile."""

    counts: dict[int, int]                      # sequence length -> rows
    edges: tuple[int, ...] = ()                 # recommended bucket edges
    batch_sizes: tuple[int, ...] = ()
    model_type: str | None = None
    tokenizer_class: str | None = None
    name_or_path: str | None = None
    max_length: int | None = None
    dataset: Mapping[str, Any] | None = None    # DatasetSpec.to_dict()
    seed: int = 0
    pairs: dict[tuple[int, int], int] | None = None   # chat data: (prompt, new tokens) -> rows
    source: Any = field(default=None, compare=False, repr=False)   # the original object

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def quantile(self, q: float) -> float:
        from ..profile.stats import as_arrays, percentile_from_counts

        values, weights = as_arrays(self.counts)
        return percentile_from_counts(values, weights, q)

    def quantile_lengths(self, qs: tuple[float, ...] = (50, 90, 99)) -> list[int]:
        return [math.ceil(self.quantile(q)) for q in qs]

    def bucket_edges(self) -> tuple[int, ...]:
        """The profile's edges, else the profiler's automatic optimal buckets."""
        if self.edges:
            return self.edges
        from ..profile.buckets import bucket_plan

        return tuple(bucket_plan(self.counts).edges)


def load_profile(path: str | Path) -> Any:
    """The profiler's ``ShapeProfile`` when its loader exists, else the raw JSON mapping."""
    path = Path(path)
    if not path.is_file():
        raise BenchError(f"profile {str(path)!r} does not exist; create it with 'shapeprof profile' "
                         "or drop --profile")
    loader = _profile_loader()
    try:
        if loader is not None:
            return loader(path)
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise BenchError(f"cannot read profile {str(path)!r} ({type(e).__name__}: {e}); "
                         "re-create it with 'shapeprof profile'") from e


def _profile_loader() -> Any:
    import importlib

    for module in ("shapeprof.profile", "shapeprof.profile.profile", "shapeprof.profile.shape_profile"):
        try:
            cls = getattr(importlib.import_module(module), "ShapeProfile", None)
        except ImportError:
            continue
        if cls is not None and hasattr(cls, "load"):
            return cls.load
    return None


def profile_view(profile: Any) -> ProfileView:
    """A ``ProfileView`` from a ShapeProfile, its JSON mapping, a path, or a ProfileView."""
    if isinstance(profile, ProfileView):
        return profile
    if isinstance(profile, (str, Path)):
        profile = load_profile(profile)
    counts = _counts(profile)
    if not counts:
        raise BenchError("the profile has no sequence-length histogram; re-create it with "
                         "'shapeprof profile'")
    model = _get(profile, "model") or {}
    return ProfileView(
        counts=counts, edges=_edges(profile), batch_sizes=_ints(_get(profile, "batch_sizes")),
        model_type=_get(model, "model_type"), tokenizer_class=_get(model, "tokenizer_class"),
        name_or_path=_get(model, "name_or_path"),
        max_length=_get(model, "max_length") or _get(profile, "max_length"),
        dataset=_as_dict(_get(profile, "dataset")), seed=int(_get(profile, "seed") or 0),
        pairs=_pairs(profile), source=profile)


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _as_dict(obj: Any) -> dict[str, Any] | None:
    if obj is None:
        return None
    return dict(obj) if isinstance(obj, Mapping) else obj.to_dict()


def _ints(values: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in values) if values else ()


def _counts(profile: Any) -> dict[int, int]:
    method = getattr(profile, "length_counts", None)
    if callable(method):
        raw = method()
    else:
        raw = _get(profile, "length_counts")
        if raw is None:
            seq = (_get(profile, "axes") or {}).get("sequence_length") or {}
            raw = _get(seq, "counts") or _get(seq, "length_counts")
    if isinstance(raw, Mapping):
        return {int(k): int(v) for k, v in raw.items() if int(v) > 0}
    if isinstance(raw, (list, tuple)):       # [[length, count], ...]
        return {int(k): int(v) for k, v in raw if int(v) > 0}
    return {}


def _pairs(profile: Any) -> dict[tuple[int, int], int] | None:
    """A generation profile's joint (prompt, new tokens) histogram, else None."""
    generation = _get(profile, "generation")
    raw = _get(generation, "pairs") if generation is not None else None
    if not raw:
        return None
    if isinstance(raw, Mapping):
        return {(int(p), int(n)): int(c) for (p, n), c in raw.items()}
    return {(int(p), int(n)): int(c) for p, n, c in raw}


def _edges(profile: Any) -> tuple[int, ...]:
    for name in ("bucket_edges", "buckets", "bucket_plan"):
        value = _get(profile, name)
        value = value() if callable(value) else value
        if value is None:
            continue
        edges = _get(value, "edges") if not isinstance(value, (list, tuple)) else value
        edges = edges() if callable(edges) else edges
        if edges:
            return tuple(sorted(int(e) for e in edges))
    return ()
