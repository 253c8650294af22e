"""Which kind of task metric a model gets, from its export record's task."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BenchError

if TYPE_CHECKING:
    from ..bench.model_dir import ModelDir

KINDS = ("embedding", "classifier", "generative")
TASK_KINDS = {"feature-extraction": "embedding", "text-classification": "classifier",
              "text-generation": "generative", "text-generation-with-past": "generative"}


def model_kind(model_dir: str | Path | ModelDir) -> str:
    """``"embedding"``, ``"classifier"`` or ``"generative"``; a one-line BenchError otherwise."""
    from ..bench.model_dir import ModelDir, open_model_dir

    model = model_dir if isinstance(model_dir, ModelDir) else open_model_dir(model_dir)
    kind = TASK_KINDS.get(model.task)
    if kind is None:
        raise BenchError(f"{str(model.path)!r} is a {model.task!r} export; task accuracy is scored for "
                         f"{', '.join(TASK_KINDS)} exports only: re-export with one of these tasks")
    return kind


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise BenchError(f"unknown model kind {kind!r}; choose from {', '.join(KINDS)}")
    return kind
