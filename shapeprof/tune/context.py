"""What every tune stage reads and fills: the model, the real rows and their split, the variants."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..bench.inputs import FeedFactory, complete_feeds, load_model_tokenizer, profile_texts
from ..bench.model_dir import ModelDir
from ..bench.profile_view import ProfileView
from ..bench.replay import tokenize_rows
from ..bench.sweep import Cell
from ..errors import TuneError
from .batching import Plan
from .candidates import Candidate, Layout, Prediction
from .measure import Shape
from .options import TuneOptions
from .scoring import AccuracyRow
from .serve import Feeds

MIN_ROWS = 8


@dataclass
class TuneContext:
    model: ModelDir
    view: ProfileView
    options: TuneOptions
    workdir: Path
    cores: int
    tokenizer: Any = None
    texts: Any = None
    ids: dict[str, list[list[int]]] = field(default_factory=dict)
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    search: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))   # row indices
    held_out: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    paths: dict[str, Path] = field(default_factory=dict)
    accuracy: list[AccuracyRow] = field(default_factory=list)
    cells: dict[tuple[str, Layout], dict[Shape, float]] = field(default_factory=dict)   # per variant, layout
    baseline_cells: dict[Shape, float] = field(default_factory=dict)
    memory_mib: dict[str, float] = field(default_factory=dict)
    scored: list[tuple[Candidate, Prediction]] = field(default_factory=list)
    pruned: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # The search rows' batches and feeds of each candidate served on them (the layout step's, reused by the proof)
    served: dict[Candidate, tuple[Plan, list[Feeds]]] = field(default_factory=dict)
    _factory: FeedFactory | None = None
    _feeds: dict[Shape, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def search_lengths(self) -> np.ndarray:
        return self.lengths[self.search]

    @property
    def pad_id(self) -> int:
        return int(self.tokenizer.pad_token_id or 0)

    def complete(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ids = feeds["input_ids"]
        return complete_feeds(self.model, feeds, Cell(ids.shape[0], ids.shape[1]))

    def cell_feeds(self, shape: Shape) -> dict[str, np.ndarray]:
        """Real search rows of the cell's length (truncated or padded to it), built once per shape
        (every round and the proof time the same feeds)."""
        if shape not in self._feeds:
            if self._factory is None:
                self._factory = FeedFactory(self.model, self.tokenizer, self.texts.take(self.search),
                                            self.options.seed)
            self._feeds[shape] = self._factory(Cell(*shape))
        return self._feeds[shape]


def load_rows(ctx: TuneContext) -> None:
    """Tokenize the profile's rows once and split them: rows to choose with, rows to prove on."""
    ctx.tokenizer = load_model_tokenizer(ctx.model)
    ctx.texts = profile_texts(ctx.view)
    limit = ctx.model.max_length or ctx.view.max_length or 512
    ctx.ids, ctx.lengths = tokenize_rows(ctx.tokenizer, ctx.texts, int(limit))
    n = len(ctx.lengths)
    held = int(round(n * ctx.options.holdout))
    if held < MIN_ROWS or n - held < MIN_ROWS:
        raise TuneError(f"the profile's dataset gives {n} rows; tune needs at least {2 * MIN_ROWS} "
                        "(half to choose with, half to prove the choice on); profile more rows")
    order = np.random.default_rng(ctx.options.seed).permutation(n)
    ctx.held_out, ctx.search = np.sort(order[:held]), np.sort(order[held:])
