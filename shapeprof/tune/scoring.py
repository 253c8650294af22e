"""Task accuracy per variant, through :mod:`shapeprof.accuracy`, as rows tune reports and gates on.

The labelled data is read and checked first (``check_accuracy_data``), before anything is timed:
data without labels or with the wrong columns is a one-line error. Each variant is then scored
against float32 (``score_variants``: the task's metric with a bootstrap interval and the paired
drop); a variant whose drop exceeds the budget is rejected before any timing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import ShapeprofError, TuneError


@dataclass(frozen=True)
class AccuracyRow:
    """One variant's task metric (points) with its interval, and its drop against float32."""

    variant: str
    metric: str
    value: float
    low: float
    high: float
    drop: float
    drop_low: float | None
    drop_high: float | None
    accepted: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AccuracyRow:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


def check_accuracy_data(model: Any, data: str | None, rows: int | None = None, seed: int = 0,
                        data_dir: str | None = None) -> Any:
    """The labelled data for ``model``'s kind (default: the kind's task, e.g. STS-B dev for
    embedding models, read from ``data_dir`` when given); TuneError (one line) when it cannot
    serve."""
    from ..accuracy import load_accuracy_data, model_kind

    try:
        return load_accuracy_data(data, model_kind(model), rows=rows, seed=seed, model_dir=model.path,
                                  data_dir=data_dir)
    except ShapeprofError as e:
        where = "the default accuracy data" if data is None else f"--accuracy-data {str(data)!r}"
        raise TuneError(f"{where}: {str(e).split(' error: ', 1)[-1]}") from e


def score(model: Any, paths: Mapping[str, Path], data: Any, budget: float, seed: int = 0,
          tick: Callable[[str], None] | None = None, threads: int | None = None, tokenizer: Any = None
          ) -> list[AccuracyRow]:
    """Every variant scored against float32; ``accepted`` when the drop is within ``budget``."""
    from ..accuracy import score_variants

    scores = score_variants(model, dict(paths), data, reference="onnx", seed=seed, progress=tick,
                            threads=threads, tokenizer=tokenizer)
    return [_row(s, budget) for s in scores]


def _row(s: Any, budget: float) -> AccuracyRow:
    drop = s.drop
    value = 0.0 if drop is None else float(drop.value)
    return AccuracyRow(s.variant, s.metric.name, s.metric.value, s.metric.low, s.metric.high, value,
                       None if drop is None else drop.low, None if drop is None else drop.high,
                       value <= budget)


def accepted(rows: Sequence[AccuracyRow]) -> list[str]:
    return [r.variant for r in rows if r.accepted]
