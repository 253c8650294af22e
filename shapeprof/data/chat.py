"""Chat and instruction datasets: each record becomes a prompt conversation and a reference answer.

Two layouts:

* ``messages``: a column of conversations, lists of ``{"role", "content"}`` turns. The answer is
  the last ``assistant`` turn; the prompt is every turn before it (system, user and earlier
  assistant turns), which must include a ``user`` turn.
* columns: ``prompt_columns`` (e.g. ``instruction,input``) joined by a blank line into one user
  turn (empty values left out), and ``completion_column`` (e.g. ``output``) as the answer.

Columns are checked against the schema before any record is read; conversations are checked
record by record (the error names the record's index in the dataset).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError
from .load import empty_error
from .sampling import sample_indices
from .source import PathsArg, ResolvedDataset, open_dataset

MESSAGES = "messages"
FORMATS = ("messages", "columns")
Turn = dict[str, str]


@dataclass(frozen=True)
class ChatColumns:
    """Which layout the records have and which columns hold the prompt and the answer."""

    format: str                                   # "messages" or "columns"
    prompt_columns: tuple[str, ...] = ()
    completion_column: str | None = None
    messages_column: str = MESSAGES

    @property
    def read(self) -> tuple[str, ...]:
        """The columns to read from the dataset."""
        if self.format == "messages":
            return (self.messages_column,)
        return (*self.prompt_columns, str(self.completion_column))

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "prompt_columns": list(self.prompt_columns),
                "completion_column": self.completion_column, "messages_column": self.messages_column}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChatColumns:
        return cls(str(data["format"]), tuple(data.get("prompt_columns") or ()),
                   data.get("completion_column"), str(data.get("messages_column") or MESSAGES))


@dataclass(frozen=True)
class ChatRecords:
    """The sampled records as (prompt turns, reference answer), with their dataset indices."""

    dataset: ResolvedDataset
    columns: ChatColumns
    prompts: list[list[Turn]]
    answers: list[str]
    indices: list[int]
    rows_total: int

    def __len__(self) -> int:
        return len(self.answers)


def chat_columns(prompt_columns: str | Sequence[str] | None, completion_column: str | None
                 ) -> ChatColumns:
    """The layout the options ask for: both column options, or neither (messages)."""
    from .columns import parse_columns

    prompts = parse_columns(prompt_columns)
    if prompts is None and completion_column is None:
        return ChatColumns("messages")
    if prompts is None or not completion_column:
        given, missing = (("--prompt-columns", "--completion-column") if prompts
                          else ("--completion-column", "--prompt-columns"))
        raise DataError(f"{given} needs {missing} too; give both, e.g. --prompt-columns "
                        "instruction,input --completion-column output")
    return ChatColumns("columns", prompts, completion_column.strip())


def open_chat(dataset: str | Path, columns: ChatColumns, *, data_dir: str | Path | None = None,
              data_files: PathsArg | None = None, split: str | None = None,
              opened: ResolvedDataset | None = None) -> ResolvedDataset:
    """Open the dataset (unless ``opened`` is it already) and check that the named columns
    exist (before reading any record)."""
    ds = opened or open_dataset(dataset, data_dir=data_dir, data_files=data_files, split=split)
    check_columns(ds, columns)
    return ds


def has_messages(ds: ResolvedDataset) -> bool:
    """Whether the dataset has a list column named ``messages`` (a chat dataset)."""
    import pyarrow as pa

    schema = ds.reader.schema()
    return MESSAGES in schema.names and pa.types.is_list(schema.field(MESSAGES).type)


def check_columns(ds: ResolvedDataset, columns: ChatColumns) -> None:
    from .columns import check_text

    schema = ds.reader.schema()
    names = list(schema.names)
    where = f"dataset {ds.spec.name!r} ({ds.reader.description})"
    missing = [c for c in columns.read if c not in names]
    if missing:
        how = ("give --prompt-columns and --completion-column naming them" if columns.format == "columns"
               else "give --prompt-columns and --completion-column for instruction-style columns")
        raise DataError(f"{where} has no column {', '.join(map(repr, missing))}; its columns are "
                        f"{', '.join(names) or '(none)'}; {how}")
    if columns.format == "columns":
        check_text(schema, columns.read, where)


def load_chat(ds: ResolvedDataset, columns: ChatColumns, rows: int | None = None, seed: int = 0
              ) -> ChatRecords:
    """Read the columns, keep a seeded sample (data order) and split each record."""
    table = read_columns(ds, columns.read)
    total = table.num_rows
    if total == 0:
        raise empty_error(ds)
    picked = sample_indices(total, rows, seed)
    indices = list(range(total)) if picked is None else [int(i) for i in picked]
    if picked is not None:
        table = table.take(picked)
    where = f"dataset {ds.spec.name!r}"
    if columns.format == "messages":
        split = [split_conversation(c, i, where)
                 for c, i in zip(table.column(columns.messages_column).to_pylist(), indices)]
    else:
        split = _column_records(table, columns)
    return ChatRecords(ds, columns, [p for p, _ in split], [a for _, a in split], indices, total)


def read_columns(ds: ResolvedDataset, names: Sequence[str]) -> Any:
    """The columns as a pyarrow table, nested types kept (JSON lines are read without the
    string schema the text readers force)."""
    from .readers import LocalFiles

    reader = ds.reader
    if isinstance(reader, LocalFiles) and reader.fmt.kind == "json":
        import pyarrow as pa

        return pa.concat_tables([_json_table(p, names) for p in reader.paths])
    return reader.read(list(names))


def _json_table(path: Path, names: Sequence[str]) -> Any:
    import pyarrow as pa
    import pyarrow.json as pj

    from .readers import is_json_array, json_array_table

    try:
        if is_json_array(path):
            return json_array_table(path, names)
        return pj.read_json(path).select(list(names))
    except (OSError, ValueError, KeyError, pa.ArrowException) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise DataError(f"cannot read {str(path)!r}: {first}; check that the file is valid JSON "
                        "or JSON lines with the named columns in every record") from e


def _column_records(table: Any, columns: ChatColumns) -> list[tuple[list[Turn], str]]:
    import pyarrow.compute as pc

    prompts = [pc.fill_null(table.column(c), "").to_pylist() for c in columns.prompt_columns]
    answers = pc.fill_null(table.column(str(columns.completion_column)), "").to_pylist()
    out = []
    for i, answer in enumerate(answers):
        text = "\n\n".join(p[i] for p in prompts if p[i].strip())
        out.append(([{"role": "user", "content": text}], answer))
    return out


def split_conversation(turns: Any, index: int, where: str) -> tuple[list[Turn], str]:
    """(the turns before the last assistant turn, that turn's content); checked."""
    if not isinstance(turns, list) or not all(isinstance(t, Mapping) and "role" in t for t in turns):
        raise DataError(f"record {index} of {where} has no list of {{role, content}} turns in "
                        f"{MESSAGES!r}; give conversations as lists of role/content mappings")
    clean = [{"role": str(t["role"]), "content": str(t.get("content") or "")} for t in turns]
    roles = [t["role"] for t in clean]
    last = max((i for i, r in enumerate(roles) if r == "assistant"), default=None)
    if last is None:
        raise DataError(f"record {index} of {where} has no assistant turn (roles: "
                        f"{', '.join(roles) or 'none'}); the completion is measured on the reference "
                        "answer, so every conversation needs one")
    if "user" not in roles[:last]:
        raise DataError(f"record {index} of {where} has no user turn before its answer (roles: "
                        f"{', '.join(roles)}); every conversation needs a user message")
    return clean[:last], clean[last]["content"]
