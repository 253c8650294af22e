"""Score graph variants on a real task against the reference (float32) graph.

Every variant runs the same tokenized, length-sorted batches; every metric gets a 95% percentile
bootstrap interval, and every drop is paired (see :mod:`.bootstrap`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..bench.model_dir import ModelDir, open_model_dir
from ..errors import BenchError, DataError
from .bootstrap import estimate, paired_drop, resample
from .data import AccuracyData, check_labels_fit
from .defaults import num_labels
from .encode import make_session
from .kind import model_kind
from .results import VariantScore
from .tasks import SCORERS, TaskScorer

MAX_LENGTH = 256            # tokens per row (all-MiniLM-L6-v2's sentence-transformers limit)
Progress = Callable[[str], None]


def score_variants(model_dir: str | Path | ModelDir, variants: Mapping[str, Path], data: AccuracyData, *,
                   reference: str = "onnx", batch_size: int = 32, seed: int = 0,
                   progress: Progress | None = None, threads: int | None = None,
                   tokenizer: Any = None) -> list[VariantScore]:
    """The task metric of every variant, its paired drop from ``reference`` and its agreement
    with the reference (both None for the reference itself).

    ``variants`` maps names to ONNX files of the same model (the reference among them); the
    result lists the reference first, then the others in the given order. ``progress`` gets a
    line per variant scored; ``tokenizer`` is the model's when the caller has it loaded.
    """
    model = model_dir if isinstance(model_dir, ModelDir) else open_model_dir(model_dir)
    scorer = prepare(model, variants, data, reference, batch_size, tokenizer)
    order = [reference] + [n for n in variants if n != reference]
    outs: dict[str, np.ndarray] = {}
    for i, name in enumerate(order):
        if progress is not None:
            progress(f"scoring {name} on {len(data)} rows of {data.name} ({i + 1}/{len(order)})")
        outs[name] = scorer.outputs(make_session(variants[name], threads))
    idx = resample(len(data), seed)
    return [_score(scorer, name, outs[name], outs[reference], idx, name == reference) for name in order]


def prepare(model: ModelDir, variants: Mapping[str, Path], data: AccuracyData, reference: str,
            batch_size: int, tokenizer: Any = None) -> TaskScorer:
    """Checks (before any session loads) and the tokenized rows."""
    kind = model_kind(model)
    if data.kind != kind:
        raise DataError(f"the accuracy data was loaded for a {data.kind} model but {str(model.path)!r} "
                        f"is a {kind} model; load it with kind={kind!r}")
    if reference not in variants:
        raise BenchError(f"the reference variant {reference!r} is not among the variants "
                         f"({', '.join(variants)}); include it")
    missing = [n for n, p in variants.items() if not Path(p).is_file()]
    if missing:
        raise BenchError(f"variant {missing[0]!r} has no file at {str(variants[missing[0]])!r}; build it first")
    if batch_size < 1:
        raise BenchError(f"batch size {batch_size} must be at least 1")
    if kind == "classifier":
        check_labels_fit(data.labels, data.metric, num_labels(model.config), data.name)
    if tokenizer is None:
        from ..bench.inputs import load_model_tokenizer

        tokenizer = load_model_tokenizer(model)
    return SCORERS[kind](model, tokenizer, data, batch_size, _max_length(model))


def _max_length(model: ModelDir) -> int:
    return min(model.max_length or MAX_LENGTH, MAX_LENGTH)


def _score(scorer: TaskScorer, name: str, out: np.ndarray, ref: np.ndarray, idx: np.ndarray,
           is_reference: bool) -> VariantScore:
    higher = scorer.higher_is_better
    metric = estimate(scorer.metric_name, scorer.metric(out), idx, higher)
    drop = None if is_reference else paired_drop(scorer.metric_name, scorer.metric(ref), scorer.metric(out),
                                                 idx, higher)
    agree = None if is_reference else scorer.agreement(ref, out)
    agreement = None if agree is None or scorer.agreement_name is None else \
        estimate(scorer.agreement_name, agree, idx)
    return VariantScore(name, metric, drop, agreement)
