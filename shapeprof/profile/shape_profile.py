"""``ShapeProfile``: which shapes a dataset gives a model, saved as versioned JSON.

The JSON keeps the raw length histogram (``length_counts``: rows per token length) so later
stages can weight benchmark cells by how often real data hits each shape. The sampled texts
are not saved; ``texts()`` re-loads them from the dataset description when needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import __version__, schema
from ..atomic import write_json
from ..data.rows import TextRows
from ..data.source import DatasetSpec
from ..errors import ProfileError
from .buckets import BucketPlan
from .padding import PaddingWaste
from .recommend import BATCH, SEQUENCE, InputSpec, Recommendations, ShapeRange
from .stats import AxisStats
from .tokenize import ModelInfo
from .uncertainty import UNKNOWN, Uncertainty

if TYPE_CHECKING:
    from .generation import GenerationStats

SCHEMA_VERSION = schema.PROFILE.version


@dataclass(frozen=True)
class DatasetInfo:
    """The dataset spec plus how rows were sampled from it."""

    spec: DatasetSpec
    rows_sampled: int
    rows_total: int | None
    rows_requested: int | None
    seed: int
    streaming: bool
    sampling: str            # "all rows", "random subset", "reservoir sample", "stream (all rows)"

    def to_dict(self) -> dict[str, Any]:
        return {**self.spec.to_dict(), "rows_sampled": self.rows_sampled,
                "rows_total": self.rows_total, "rows_requested": self.rows_requested,
                "seed": self.seed, "streaming": self.streaming, "sampling": self.sampling}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetInfo:
        return cls(DatasetSpec.from_dict(data), int(data["rows_sampled"]), data.get("rows_total"),
                   data.get("rows_requested"), int(data.get("seed", 0)),
                   bool(data.get("streaming", False)), data.get("sampling", ""))


@dataclass(frozen=True)
class ShapeProfile:
    """Per-axis shape distribution of a dataset for one model, with recommendations."""

    dataset: DatasetInfo
    model: ModelInfo
    batch_sizes: tuple[int, ...]
    axes: Mapping[str, AxisStats]
    counts: Mapping[int, int]                 # sequence length -> rows
    recommendations: Recommendations
    buckets: BucketPlan
    padding: tuple[PaddingWaste, ...]
    schema_version: int = SCHEMA_VERSION
    shapeprof_version: str = __version__
    uncertainty: Uncertainty = Uncertainty(UNKNOWN)   # 95% intervals of a sample, or "exact"
    sample: TextRows | None = field(default=None, compare=False, repr=False)  # not saved
    generation: GenerationStats | None = None  # chat data: prompt and completion lengths (optional key)

    # --- what other stages use (the Profile protocol and text extras) ------------------------

    @property
    def modality(self) -> str:
        return "text"

    @property
    def sequence(self) -> AxisStats:
        return self.axes[SEQUENCE]

    def trace_shapes(self) -> dict[str, int]:
        """Dummy shapes for tracing: never 0 or 1 on a dynamic axis."""
        return dict(self.recommendations.trace)

    def bounds(self) -> dict[str, tuple[int, int | None]]:
        """Dynamic axes and their ranges: batch_size (1, None); sequence_length (min, max).

        Axes with one size over the data are left out (see ``static_shapes``)."""
        out: dict[str, tuple[int, int | None]] = {BATCH: (1, None)}
        for axis, r in self.recommendations.ranges.items():
            if axis != BATCH:
                out[axis] = (r.min, r.max)
        return out

    def static_shapes(self) -> dict[str, int]:
        """Axes that never vary over the data (they may be exported static)."""
        return dict(self.recommendations.static)

    def static_axes(self) -> dict[str, int]:
        """The Profile protocol's name for ``static_shapes``."""
        return self.static_shapes()

    def shape_ranges(self) -> dict[str, ShapeRange]:
        """min/opt/max per dynamic axis (batch_size max = the largest profiled batch size)."""
        return dict(self.recommendations.ranges)

    def length_counts(self) -> dict[int, int]:
        """Rows per sequence length (after truncation to the model limit)."""
        return dict(self.counts)

    def length_weights(self) -> dict[int, float]:
        """Share of rows per sequence length (sums to 1)."""
        total = sum(self.counts.values())
        return {k: v / total for k, v in self.counts.items()}

    def trtexec_args(self, inputs: InputSpec | None = None) -> str:
        """trtexec ``--minShapes/--optShapes/--maxShapes``; inputs default to the tokenizer's."""
        return self.recommendations.trtexec_args(inputs or self.model.input_names)

    def ort_trt_options(self, inputs: InputSpec | None = None) -> dict[str, str]:
        """onnxruntime TensorRT EP ``trt_profile_{min,opt,max}_shapes`` options."""
        return self.recommendations.ort_trt_options(inputs or self.model.input_names)

    def texts(self) -> TextRows:
        """The profiled texts (re-loaded from the dataset description after ``load``)."""
        if self.sample is None and self.generation is not None:   # the rendered prompts
            from .generation import reload_requests
            object.__setattr__(self, "sample", TextRows(("prompt",), (reload_requests(self).prompts,)))
        if self.sample is None:
            object.__setattr__(self, "sample", reload_sample(self.dataset))
        assert self.sample is not None
        return self.sample

    def real_batches(self, tokenizer: Any = None, shapes: Sequence[tuple[str, int, int]] | None = None
                     ) -> list[tuple[str, dict[str, np.ndarray]]]:
        """Real tokenized batches; default shapes are the recommended min, opt and max."""
        from .batches import real_batches

        if tokenizer is None:
            from .tokenize import load_tokenizer
            tokenizer, _ = load_tokenizer(self.model.name_or_path)
        return real_batches(tokenizer, self.texts(), shapes or self.default_batch_shapes())

    def default_batch_shapes(self) -> list[tuple[str, int, int]]:
        rec = self.recommendations
        return [(which, rec.value(BATCH, which), rec.value(SEQUENCE, which))
                for which in ("min", "opt", "max")]

    # --- JSON -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        rec = self.recommendations
        return {
            "schema_version": self.schema_version, "shapeprof_version": self.shapeprof_version,
            "dataset": self.dataset.to_dict(), "model": self.model.to_dict(),
            "batch_sizes": list(self.batch_sizes),
            "axes": {name: a.to_dict() for name, a in self.axes.items()},
            "length_counts": {str(k): v for k, v in sorted(self.counts.items())},
            "recommendations": {**rec.to_dict(), "trtexec": self.trtexec_args(),
                                "ort_trt_options": self.ort_trt_options()},
            "buckets": self.buckets.to_dict(),
            "padding": [p.to_dict() for p in self.padding],
            "uncertainty": self.uncertainty.to_dict(),
            **({"generation": self.generation.to_dict()} if self.generation is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ShapeProfile:
        data = schema.load("profile", data)       # checks the version, migrates older files
        version = data["schema_version"]
        try:
            return cls(DatasetInfo.from_dict(data["dataset"]), ModelInfo.from_dict(data["model"]),
                       tuple(int(b) for b in data["batch_sizes"]),
                       {k: AxisStats.from_dict(v) for k, v in data["axes"].items()},
                       {int(k): int(v) for k, v in data["length_counts"].items()},
                       Recommendations.from_dict(data["recommendations"]),
                       BucketPlan.from_dict(data["buckets"]),
                       tuple(PaddingWaste.from_dict(p) for p in data["padding"]),
                       int(version), str(data.get("shapeprof_version", "")),
                       Uncertainty.from_dict(data.get("uncertainty")),
                       generation=_generation(data.get("generation")))
        except (KeyError, TypeError, ValueError) as e:
            raise ProfileError(f"profile JSON is missing or has a bad field ({e!r}); "
                               "re-run 'shapeprof profile'") from e

    def save(self, path: str | Path) -> Path:
        """Write the profile as JSON atomically (temp file + rename)."""
        write_json(Path(path), self.to_dict())
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> ShapeProfile:
        return cls.from_dict(schema.load("profile", Path(path)))

    def summary(self) -> str:
        from .summary import format_summary
        return format_summary(self)


def _generation(data: Mapping[str, Any] | None) -> GenerationStats | None:
    """The optional ``generation`` key (chat data); absent in other profiles."""
    if not data:
        return None
    from .generation import GenerationStats

    return GenerationStats.from_dict(data)


def reload_sample(info: DatasetInfo) -> TextRows:
    """Load the same texts again: same split, columns, row count and seed."""
    from ..data.load import load_texts, stream_sample
    from ..data.source import reopen
    from .measure import EXAMPLE_ROWS

    ds = reopen(info.spec, streaming=info.streaming)
    if not info.streaming:
        return load_texts(ds, info.rows_requested, info.seed)[0]
    rows = info.rows_requested or EXAMPLE_ROWS
    return stream_sample(ds, rows, info.seed)[0]
