"""Image and audio profiles: which sizes a dataset gives a model after its own preprocessor.

Images go through the model's image processor and audio through its feature extractor,
so the profile describes the tensors the model really receives: a processor that resizes
every image to 224x224 gives constant ``height``/``width`` (exported static), one that
keeps sizes gives their distribution. The raw sizes (source pixels, clip durations) are
kept too. Saved as versioned JSON beside the text profile's fields it shares
(``schema_version``, ``dataset``, ``model``, ``axes`` as :class:`AxisStats`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__, schema
from ..atomic import write_json
from ..console import say
from ..errors import ProfileError
from .stats import AxisStats, axis_stats
from .uncertainty import UNKNOWN, Uncertainty, axes_uncertainty, how_sure

SCHEMA_VERSION = schema.MEDIA_PROFILE.version
BATCH = "batch_size"
IMAGE_AXES = ("height", "width")
AUDIO_AXIS = "audio_sequence_length"
VERIFY_SAMPLES = 4  # real samples kept in memory for verification (not saved)


@dataclass(frozen=True)
class MediaProfile:
    """Per-axis size distribution of an image or audio dataset for one model."""

    modality: str                                   # "image" or "audio"
    dataset: Mapping[str, Any]
    model: Mapping[str, Any]
    batch_sizes: tuple[int, ...]
    axes: Mapping[str, AxisStats]                   # processed tensor axes (height, width / audio length)
    source_axes: Mapping[str, AxisStats]            # raw sizes (source pixels / duration in ms)
    schema_version: int = SCHEMA_VERSION
    shapeprof_version: str = __version__
    uncertainty: Uncertainty = Uncertainty(UNKNOWN)   # 95% percentile intervals of a sample, or "exact"
    samples: tuple[dict[str, np.ndarray], ...] = field(default=(), compare=False, repr=False)

    # --- what the export uses ----------------------------------------------------------
    def static_axes(self) -> dict[str, int]:
        """Axes with one size over the whole dataset: exported static at that size."""
        return {name: s.min for name, s in self.axes.items() if not s.varies}

    def trace_shapes(self) -> dict[str, int]:
        """Batch 2 and the median processed size per axis (at least 2 on a varying axis)."""
        shapes = {BATCH: 2}
        for name, s in self.axes.items():
            shapes[name] = s.min if not s.varies else max(2, int(round(s.p(50))))
        return shapes

    def bounds(self) -> dict[str, tuple[int, int | None]]:
        """min..max per axis from the data; batch 1..largest batch size."""
        bounds: dict[str, tuple[int, int | None]] = {BATCH: (1, max(self.batch_sizes))}
        bounds.update({name: (s.min, s.max) for name, s in self.axes.items()})
        return bounds

    def real_batches(self) -> list[tuple[str, dict[str, np.ndarray]]]:
        """Batches of real preprocessed samples: same-size samples stacked together."""
        groups: dict[tuple[tuple[int, ...], ...], list[dict[str, np.ndarray]]] = {}
        for sample in self.samples:
            key = tuple(v.shape for v in sample.values())
            groups.setdefault(key, []).append(sample)
        return [(f"{len(g)} sample(s) of shape {next(iter(g[0].values())).shape[1:]}",
                 {k: np.concatenate([s[k] for s in g]) for k in g[0]}) for g in groups.values()]

    # --- JSON and text ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": self.schema_version, "kind": "media", "modality": self.modality,
                "shapeprof_version": self.shapeprof_version, "dataset": dict(self.dataset),
                "model": dict(self.model), "batch_sizes": list(self.batch_sizes),
                "axes": {k: v.to_dict() for k, v in self.axes.items()},
                "source_axes": {k: v.to_dict() for k, v in self.source_axes.items()},
                "static_axes": self.static_axes(), "trace_shapes": self.trace_shapes(),
                "bounds": {k: list(v) for k, v in self.bounds().items()},
                "uncertainty": self.uncertainty.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MediaProfile:
        if not isinstance(data, Mapping) or data.get("kind") != "media":
            raise ProfileError("not a shapeprof image/audio profile (no \"kind\": \"media\"); "
                               "re-run `shapeprof profile`")
        data = schema.load("media_profile", data)  # checks the version, migrates older files
        return cls(data["modality"], dict(data["dataset"]), dict(data["model"]),
                   tuple(int(b) for b in data["batch_sizes"]),
                   {k: AxisStats.from_dict(v) for k, v in data["axes"].items()},
                   {k: AxisStats.from_dict(v) for k, v in data["source_axes"].items()},
                   int(data["schema_version"]), data.get("shapeprof_version", __version__),
                   Uncertainty.from_dict(data.get("uncertainty")))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        write_json(path, self.to_dict())
        return path

    @classmethod
    def load(cls, path: str | Path) -> MediaProfile:
        data = schema.load("media_profile", Path(path))
        if data.get("kind") != "media":
            raise ProfileError(f"{str(path)!r} is not an image/audio profile (no \"kind\": "
                               "\"media\"); re-run `shapeprof profile`")
        return cls.from_dict(data)

    def summary(self) -> str:
        lines = [f"{self.modality} profile of {self.dataset['description']}: "
                 f"{self.dataset['rows_sampled']} of {self.dataset['samples_total']} samples, "
                 f"through {self.model['processor_class']} of {self.model['name_or_path']}",
                 "", "| axis | min | p50 | p90 | p99 | max | mean | varies |",
                 "|---|---:|---:|---:|---:|---:|---:|---|"]
        for group, axes in (("model input", self.axes), ("source", self.source_axes)):
            for name, s in axes.items():
                p50, p90, p99 = (self._with_interval(name, s, q) for q in (50, 90, 99))
                lines.append(f"| {name} ({group}) | {s.min} | {p50} | {p90} | {p99} "
                             f"| {s.max} | {s.mean:.1f} | {'yes' if s.varies else 'no (static)'} |")
        lines += ["", how_sure(self.uncertainty, "samples", "+-1", waste=False)]
        static = self.static_axes()
        lines += ["", "static axes: " + (", ".join(f"{a}={n}" for a, n in static.items()) or "none"),
                  "trace shapes: " + ", ".join(f"{a}={n}" for a, n in self.trace_shapes().items()),
                  "dynamic ranges: " + ", ".join(f"{a}={lo}..{hi}" for a, (lo, hi) in self.bounds().items()
                                                 if a not in static)]
        return "\n".join(lines)


    def _with_interval(self, axis: str, stats: AxisStats, q: int) -> str:
        interval = self.uncertainty.percentile(axis, f"p{q}")
        return f"{stats.p(q):g}" + (f" {interval.text()}" if interval is not None else "")


# ---- profiling ------------------------------------------------------------------------
def load_processor(model: str | Path, modality: str) -> Any:
    """The model's image processor or feature extractor (its preprocessor_config.json)."""
    from transformers import AutoFeatureExtractor, AutoImageProcessor

    loader = AutoImageProcessor if modality == "image" else AutoFeatureExtractor
    try:
        return loader.from_pretrained(str(model))
    except (OSError, ValueError, KeyError, TypeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        kind = "image processor" if modality == "image" else "feature extractor"
        raise ProfileError(f"cannot load the {kind} of {str(model)!r}: {first}; the model directory "
                           "needs a preprocessor_config.json (save the processor with the model)") from e


def _image_sample(processor: Any, image: Any) -> tuple[dict[str, np.ndarray], tuple[int, int]]:
    out = processor(images=[image], return_tensors="np")
    return {"pixel_values": out["pixel_values"].astype(np.float32)}, (image.height, image.width)


def _audio_sample(processor: Any, item: tuple[np.ndarray, int]) -> tuple[dict[str, np.ndarray], int]:
    from scipy.signal import resample_poly

    wave, rate = item
    target = int(getattr(processor, "sampling_rate", rate) or rate)
    if rate != target:
        from math import gcd

        g = gcd(rate, target)
        wave = resample_poly(wave, target // g, rate // g).astype(np.float32)
    out = processor(wave, sampling_rate=target, return_tensors="np")
    duration_ms = int(round(1000 * len(item[0]) / rate))
    return {"input_values": out["input_values"].astype(np.float32)}, duration_ms


def profile_media(model: str | Path, dataset: Any, modality: str, *,
                  data_files: Sequence[str | Path] | None = None, split: str | None = None,
                  rows: int | None = None, seed: int = 0, batch_sizes: Sequence[int] = (1, 8, 32),
                  progress: bool = True) -> MediaProfile:
    """Run a seeded sample of ``dataset`` through ``model``'s preprocessor and profile the sizes."""
    from ..data.media import iterate, resolve_media, sample_indices

    if rows is not None and rows < 1:
        raise ProfileError(f"rows must be a positive number or omitted for all rows, not {rows}")
    if not batch_sizes or any(int(b) < 1 for b in batch_sizes):
        raise ProfileError(f"batch sizes must be positive integers, not {list(batch_sizes)}")
    source = resolve_media(dataset, modality, data_files=data_files, split=split)
    processor = load_processor(model, modality)
    indices = sample_indices(len(source), rows, seed)
    processed: dict[str, Counter[int]] = {}
    raw: dict[str, Counter[int]] = {}
    samples: list[dict[str, np.ndarray]] = []
    for n, (_, item) in enumerate(iterate(source, indices), start=1):
        if modality == "image":
            feeds, (h, w) = _image_sample(processor, item)
            sizes = dict(zip(IMAGE_AXES, feeds["pixel_values"].shape[2:]))
            raw_sizes = {"source_height": h, "source_width": w}
        else:
            feeds, ms = _audio_sample(processor, item)
            sizes = {AUDIO_AXIS: feeds["input_values"].shape[-1]}
            raw_sizes = {"duration_ms": ms}
        for counters, values in ((processed, sizes), (raw, raw_sizes)):
            for axis, value in values.items():
                counters.setdefault(axis, Counter())[int(value)] += 1
        if len(samples) < VERIFY_SAMPLES:
            samples.append(feeds)
        say(progress and (n % 50 == 0 or n == len(indices)),
            f"preprocessed {n}/{len(indices)} {modality} samples")
    dataset_info = {**source.to_dict(), "rows_sampled": len(indices), "rows_requested": rows, "seed": seed}
    model_info = {"name_or_path": str(model), "processor_class": type(processor).__name__}
    return MediaProfile(modality, dataset_info, model_info, tuple(sorted({int(b) for b in batch_sizes})),
                        {a: axis_stats(a, c) for a, c in processed.items()},
                        {a: axis_stats(a, c) for a, c in raw.items()},
                        uncertainty=axes_uncertainty({**processed, **raw}, len(source)),
                        samples=tuple(samples))
