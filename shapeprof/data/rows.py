"""``TextRows``: the sampled texts, one list per text column, in data order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

TextInput = str | tuple[str, str]


@dataclass(frozen=True)
class TextRows:
    """Texts of one or two columns (a pair), aligned by row."""

    columns: tuple[str, ...]
    values: tuple[list[str], ...]

    def __post_init__(self) -> None:
        if len(self.columns) != len(self.values) or len({len(v) for v in self.values}) > 1:
            raise ValueError("TextRows needs one equally long list per column")

    def __len__(self) -> int:
        return len(self.values[0]) if self.values else 0

    @property
    def is_pair(self) -> bool:
        return len(self.columns) == 2

    def inputs(self, start: int = 0, stop: int | None = None) -> list[TextInput]:
        """Rows as tokenizer inputs: strings, or (text, text_pair) tuples."""
        parts = [v[start:stop] for v in self.values]
        return parts[0] if len(parts) == 1 else list(zip(*parts))

    def take(self, indices: Iterable[int]) -> TextRows:
        idx = [int(i) for i in indices]
        return TextRows(self.columns, tuple([v[i] for i in idx] for v in self.values))

    @classmethod
    def from_table(cls, table: Any, columns: Sequence[str]) -> TextRows:
        """From a pyarrow table or record batch; nulls become empty strings."""
        import pyarrow.compute as pc

        values = tuple(pc.fill_null(table.column(c), "").to_pylist() for c in columns)
        return cls(tuple(columns), values)

    @classmethod
    def concat(cls, columns: Sequence[str], parts: Iterable[TextRows]) -> TextRows:
        values: tuple[list[str], ...] = tuple([] for _ in columns)
        for part in parts:
            for out, more in zip(values, part.values):
                out.extend(more)
        return cls(tuple(columns), values)

    @classmethod
    def from_inputs(cls, texts: Sequence[TextInput], columns: Sequence[str] | None = None) -> TextRows:
        """From a list of strings or of (text, text_pair) tuples."""
        pair = bool(texts) and not isinstance(texts[0], str)
        cols = tuple(columns) if columns else (("text", "text_pair") if pair else ("text",))
        if pair:
            return cls(cols, (list(t[0] for t in texts), list(t[1] for t in texts)))
        return cls(cols, (list(texts),))
