"""Which columns hold the text to tokenize: validated when given, inferred when not.

Inference takes the first well-known pair present as string columns (``sentence1``/``sentence2``,
``premise``/``hypothesis``, ``question``/``context``, ...), else the first well-known single
column (``text``, ``sentence``, ...), else the first string column. Override with ``text_columns``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import DataError

KNOWN_PAIRS = (("sentence1", "sentence2"), ("premise", "hypothesis"), ("question", "context"),
               ("question", "sentence"), ("question1", "question2"), ("query", "passage"),
               ("text_a", "text_b"), ("question", "passage"))
KNOWN_SINGLES = ("text", "sentence", "content", "document", "review", "question", "prompt",
                 "input", "source", "article", "body")


def is_text_type(arrow_type: Any) -> bool:
    import pyarrow as pa

    is_view = getattr(pa.types, "is_string_view", lambda t: False)
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) \
        or is_view(arrow_type)


def text_column_names(schema: Any) -> list[str]:
    """String columns; if there are none, columns of unknown (null) type, as in a file
    with a header and no rows, so that the emptiness is what gets reported."""
    import pyarrow as pa

    text = [f.name for f in schema if is_text_type(f.type)]
    return text or [f.name for f in schema if pa.types.is_null(f.type)]


def parse_columns(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """``"a,b"`` or ``["a", "b"]`` -> ``("a", "b")``; None and empty stay None."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    names = tuple(str(c).strip() for c in items if str(c).strip())
    return names or None


def choose_text_columns(schema: Any, requested: Sequence[str] | None, where: str) -> tuple[str, ...]:
    """Validate ``requested`` against ``schema`` or infer the text columns; DataError if impossible."""
    if requested:
        return validate_text_columns(schema, requested, where)
    return infer_text_columns(schema, where)


def validate_text_columns(schema: Any, requested: Sequence[str], where: str) -> tuple[str, ...]:
    columns = tuple(requested)
    if len(columns) > 2:
        raise DataError(f"{len(columns)} text columns given ({', '.join(columns)}); a tokenizer "
                        "takes one text or a pair: pass --text-columns with one or two names")
    names = list(schema.names)
    remedy = "; pass --text-columns with one or two of them"
    for column in columns:
        if column not in names:
            raise DataError(f"column {column!r} not found in {where}; available columns: "
                            f"{', '.join(names) or '(none)'}{remedy}")
    check_text(schema, columns, where, remedy)
    return columns


def check_text(schema: Any, columns: Sequence[str], where: str, remedy: str = "") -> None:
    """DataError naming the first of ``columns`` (all in ``schema``) that does not hold text."""
    text = text_column_names(schema)
    wrong = [c for c in columns if c not in text]
    if wrong:
        raise DataError(f"column {wrong[0]!r} of {where} holds {schema.field(wrong[0]).type}, not "
                        f"text; text columns: {', '.join(text) or '(none)'}{remedy}")


def infer_text_columns(schema: Any, where: str) -> tuple[str, ...]:
    text = text_column_names(schema)
    for pair in KNOWN_PAIRS:
        if all(c in text for c in pair):
            return pair
    for single in KNOWN_SINGLES:
        if single in text:
            return (single,)
    if not text:
        raise DataError(f"{where} has no text column (columns: {', '.join(schema.names) or '(none)'}); "
                        "pass --text-columns naming a string column")
    return (text[0],)
