"""The graph variants tune weighs, built once each (``bench.variants`` optimizes the graph once for
the optimized variant and its int8s).

Static int8 variants come from :mod:`shapeprof.bench.variants` when it builds them (calibrated on
profile rows disjoint from the accuracy rows); variants the model's architecture cannot take
(no transformer-optimizer fusion) are left out with a note.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..bench import variants as bench_variants
from ..bench.model_dir import ModelDir


def available_variants(asked: Sequence[str], model: ModelDir) -> tuple[list[str], list[str]]:
    """(variants to build, notes on the ones left out); the exported graph is always in."""
    known = set(bench_variants.ALL_VARIANTS)
    notes = []
    out = ["onnx"]
    for name in asked:
        if name == "onnx":
            continue
        if name not in known:
            notes.append(f"variant {name} left out: this shapeprof cannot build it")
        elif name.startswith("optimized") and model.model_type not in bench_variants.OPTIMIZER_MODEL_TYPES:
            notes.append(f"variant {name} left out: onnxruntime's transformer optimizer has no fusion "
                         f"for {model.model_type!r}")
        else:
            out.append(name)
    return out, notes


def build_variants(model: ModelDir, names: Sequence[str], workdir: Path, calibration: Any,
                   tick: Callable[[str], None], tokenizer: Any = None) -> dict[str, Path]:
    """Each variant's ONNX file under ``workdir``; the static int8s calibrated on ``calibration``
    (a ``shapeprof.bench.calibration.CalibrationRows``, tokenized with ``tokenizer``)."""
    paths: dict[str, Path] = {"onnx": model.onnx_path}
    for name in names:
        if name not in paths:
            tick(f"building {name}")
            paths[name] = bench_variants.build_variant(name, model, workdir, calibration,
                                                       tokenizer=tokenizer)[0]
    return paths


def calibration_for(view: Any, accuracy: Any, seed: int) -> Any:
    """Calibration rows of the profiled dataset, none of them a row the accuracy data scores."""
    from ..bench.calibration import calibration_rows
    from ..data.source import DatasetSpec

    return calibration_rows(DatasetSpec.from_dict(view.dataset), seed=seed, exclude=accuracy)
