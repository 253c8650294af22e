"""Hugging Face datasets (Hub or local cache) through ``datasets.load_dataset``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import DataError

PREFERRED_SPLITS = ("validation", "test", "train")


class HubDataset:
    """A split of a Hub dataset, exposed as pyarrow tables (whole, or streamed in chunks)."""

    def __init__(self, path: str, config: str | None, split: str | None, *,
                 streaming: bool, hint: str) -> None:
        self.path, self.config, self.hint = path, config, hint
        self.streaming = streaming
        self.dataset, self.split = self._load(split)
        self.num_rows: int | None = None if streaming else len(self.dataset)

    @property
    def description(self) -> str:
        return f"{self.path}" + (f" ({self.config})" if self.config else "") + f" [{self.split}]"

    def _load(self, split: str | None) -> tuple[Any, str]:
        import datasets

        try:
            loaded = datasets.load_dataset(self.path, self.config, split=split,
                                           streaming=self.streaming)
        except Exception as e:  # offline, unknown id, bad split: one line with the fix
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise DataError(f"cannot load dataset {self.path!r}"
                            + (f" config {self.config!r}" if self.config else "")
                            + (f" split {split!r}" if split else "")
                            + f" from the Hub or the local cache ({first}); {self.hint}") from e
        if split is not None:
            return loaded, split
        return self._pick_split(loaded)

    def _pick_split(self, splits: Any) -> tuple[Any, str]:
        for name in PREFERRED_SPLITS:
            if name in splits:
                return splits[name], name
        name = next(iter(splits))
        return splits[name], name

    def schema(self) -> Any:
        import pyarrow as pa

        features = self.dataset.features
        if features is None:  # streamed datasets without metadata: infer from a first row
            first = next(iter(self.dataset.take(1)), None)
            if first is None:
                return pa.schema([])
            return pa.Table.from_pylist([first]).schema
        return features.arrow_schema

    def read(self, columns: Sequence[str]) -> Any:
        if self.streaming:
            import pyarrow as pa

            tables = list(self.iter_batches(columns, 65536))
            return pa.concat_tables(tables) if tables else \
                pa.table({c: pa.array([], type=pa.string()) for c in columns})
        return self.dataset.select_columns(list(columns)).with_format("arrow")[:]

    def iter_batches(self, columns: Sequence[str], chunk_rows: int) -> Iterator[Any]:
        import pyarrow as pa

        data = self.dataset.select_columns(list(columns))
        for batch in data.iter(batch_size=chunk_rows):
            yield pa.table({c: pa.array(batch[c], type=pa.string()) for c in columns})
