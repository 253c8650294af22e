"""Inputs for a cell: real tokenized rows of the cell's length, or random in-vocabulary ids.

Real rows come from the profiler's ``real_batches`` helper (rows whose natural length is
closest to the cell's length, truncated/padded to it). Without data, ``input_ids`` are random
ids in ``[0, vocab_size)``, ``attention_mask`` is all ones and every other input is zeros.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import BenchError
from .model_dir import ModelDir
from .sweep import Cell

if TYPE_CHECKING:
    from ..data.rows import TextRows
    from .profile_view import ProfileView

Feeds = dict[str, np.ndarray]
SAMPLE_ROWS = 4096


class FeedFactory:
    """Builds the feeds of each cell, from data (``source == "data"``) or random ids."""

    def __init__(self, model: ModelDir, tokenizer: Any = None, texts: TextRows | None = None,
                 seed: int = 0) -> None:
        self.model, self.tokenizer, self.texts, self.seed = model, tokenizer, texts, seed
        self._lengths: np.ndarray | None = None

    @property
    def source(self) -> str:
        return "data" if self.texts is not None else "random"

    def __call__(self, cell: Cell) -> Feeds:
        feeds = self._real(cell) if self.texts is not None else self._random(cell)
        return complete_feeds(self.model, feeds, cell)

    def _real(self, cell: Cell) -> Feeds:
        from ..profile.batches import real_batches
        from ..profile.tokenize import LengthCounter

        if self._lengths is None:
            self._lengths = LengthCounter(self.tokenizer)(self.texts)
        [(_, feeds)] = real_batches(self.tokenizer, self.texts, [(cell.label, cell.batch_size,
                                                                  cell.sequence_length)],
                                    lengths=self._lengths)
        return feeds

    def _random(self, cell: Cell) -> Feeds:
        rng = np.random.default_rng(self.seed + cell.batch_size * 100_003 + cell.sequence_length)
        shape = (cell.batch_size, cell.sequence_length)
        ids = rng.integers(0, self.model.vocab_size, size=shape, dtype=np.int64)
        return {"input_ids": ids, "attention_mask": np.ones(shape, dtype=np.int64)}


def complete_feeds(model: ModelDir, feeds: Mapping[str, np.ndarray], cell: Cell) -> Feeds:
    """Keep the model's inputs only, add missing ones as zeros (shaped by their axes)."""
    out: Feeds = {}
    for name, axes in model.inputs.items():
        if name in feeds:
            out[name] = np.ascontiguousarray(feeds[name], dtype=np.int64)
            continue
        sizes = {"batch_size": cell.batch_size, "sequence_length": cell.sequence_length}
        unknown = [a for a in axes.values() if a not in sizes]
        if unknown:
            raise BenchError(f"input {name!r} has axis {unknown[0]!r}; the benchmark measures "
                             "(batch_size, sequence_length) inputs only")
        out[name] = np.zeros([sizes[axes[i]] for i in sorted(axes)], dtype=np.int64)
    return out


def load_model_tokenizer(model: ModelDir) -> Any:
    """MODEL_DIR's tokenizer (a one-line error when the export has none)."""
    if not model.has_tokenizer:
        raise BenchError(f"{str(model.path)!r} has no tokenizer files, so real rows cannot be "
                         "tokenized; re-export from a model directory with a tokenizer or drop --profile")
    from ..profile.tokenize import load_tokenizer

    tokenizer, _ = load_tokenizer(model.path)
    return tokenizer


def check_profile_matches(view: ProfileView, model: ModelDir, tokenizer: Any) -> None:
    """Refuse a profile measured with another model type or tokenizer."""
    if view.model_type and view.model_type != model.model_type:
        raise BenchError(f"the profile was measured for model type {view.model_type!r} but "
                         f"{str(model.path)!r} is {model.model_type!r}; profile the dataset with "
                         "this model's tokenizer ('shapeprof profile --model MODEL_DIR')")
    name = type(tokenizer).__name__
    if view.tokenizer_class and view.tokenizer_class != name:
        raise BenchError(f"the profile was tokenized with {view.tokenizer_class} but "
                         f"{str(model.path)!r} uses {name}; re-profile the dataset with this model")
    vocab = getattr(view.source, "vocab_size", None)
    if vocab and int(vocab) != len(tokenizer):
        raise BenchError(f"the profile's tokenizer has {vocab} tokens but {str(model.path)!r}'s has "
                         f"{len(tokenizer)}; re-profile the dataset with this model")


def profile_texts(view: ProfileView, rows: int = SAMPLE_ROWS) -> TextRows:
    """Texts of the profiled dataset: kept on the profile object, or re-read from its spec."""
    from ..data.rows import TextRows

    for name in ("texts", "examples", "sample"):
        value = getattr(view.source, name, None)
        value = value() if callable(value) else value
        if isinstance(value, TextRows) and len(value):
            return value
    if not view.dataset:
        raise BenchError("the profile records no dataset to read real rows from; pass texts= "
                         "to run_benchmark or re-create the profile with 'shapeprof profile'")
    from ..data.load import load_texts
    from ..data.source import DatasetSpec, reopen

    texts, _ = load_texts(reopen(DatasetSpec.from_dict(view.dataset)), rows, view.seed)
    return texts


def as_text_rows(texts: TextRows | Sequence[Any] | None) -> TextRows | None:
    from ..data.rows import TextRows

    if texts is None or isinstance(texts, TextRows):
        return texts
    return TextRows.from_inputs(list(texts))
