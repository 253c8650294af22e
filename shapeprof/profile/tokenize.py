"""The model's tokenizer and limits, and fast token-length measurement.

Lengths count special tokens (what the model sees). Texts are encoded without padding or
truncation, so the natural length is known and rows over the model limit can be counted;
the length the model gets is ``min(natural, max_length)`` (pairs: longest-first truncation).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelLoadError
from ..data.rows import TextRows

HUGE = 10**6                 # tokenizers use ~1e30 for "no limit"
POSITION_ATTRS = ("max_position_embeddings", "n_positions", "max_seq_len", "max_sequence_length",
                  "seq_length", "n_ctx")


@dataclass(frozen=True)
class ModelInfo:
    """The model identity a profile was measured with."""

    model_type: str | None
    name_or_path: str
    tokenizer_class: str
    max_length: int | None
    input_names: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"model_type": self.model_type, "name_or_path": self.name_or_path,
                "tokenizer_class": self.tokenizer_class, "max_length": self.max_length,
                "input_names": list(self.input_names)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelInfo:
        return cls(data.get("model_type"), data["name_or_path"], data.get("tokenizer_class", ""),
                   data.get("max_length"), tuple(data.get("input_names") or ()))


def load_tokenizer(model: str | Path) -> tuple[Any, ModelInfo]:
    """The model's fast tokenizer and its identity; only tokenizer and config files are read."""
    from transformers import AutoConfig, AutoTokenizer

    from ..loading import require_tokenizer_files

    require_tokenizer_files(model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model), use_fast=True)
    except Exception as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ModelLoadError(f"cannot load the tokenizer of {str(model)!r} ({first}); pass --model "
                             "with a local model directory or a cached Hub id") from e
    if len(tokenizer) <= len(set(tokenizer.all_special_ids)):  # built without a vocabulary
        raise ModelLoadError(f"the tokenizer of {str(model)!r} has no vocabulary beyond its "
                             "special tokens; profiling needs the model's own tokenizer files")
    try:
        config = AutoConfig.from_pretrained(str(model))
    except Exception:  # a tokenizer-only directory still has a usable limit
        config = None
    info = ModelInfo(getattr(config, "model_type", None), str(tokenizer.name_or_path),
                     type(tokenizer).__name__, model_max_length(tokenizer, config),
                     tuple(tokenizer.model_input_names))
    return tokenizer, info


def model_max_length(tokenizer: Any, config: Any = None) -> int | None:
    """``tokenizer.model_max_length`` capped by the config's position limit; None if neither is set."""
    limits = []
    if 0 < int(getattr(tokenizer, "model_max_length", HUGE) or HUGE) < HUGE:
        limits.append(int(tokenizer.model_max_length))
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    for attr in POSITION_ATTRS:
        value = getattr(text_config, attr, None)
        if isinstance(value, int) and 0 < value < HUGE:
            limits.append(value)
            break
    return min(limits) if limits else None


class LengthCounter:
    """Natural token lengths of text rows, batched, through the Rust tokenizer when there is one."""

    def __init__(self, tokenizer: Any, special_tokens: bool = True) -> None:
        self.tokenizer = tokenizer
        self.special_tokens = special_tokens      # False: a rendered chat template carries its own
        self.backend = _unpadded_backend(tokenizer)

    def __call__(self, texts: TextRows) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros(0, dtype=np.int64)
        if self.backend is not None:
            encodings = self.backend.encode_batch_fast(texts.inputs(), add_special_tokens=self.special_tokens)
            return np.fromiter((len(e) for e in encodings), dtype=np.int64, count=len(encodings))
        return self._python_lengths(texts)

    def _python_lengths(self, texts: TextRows) -> np.ndarray:
        pair = texts.values[1] if texts.is_pair else None
        quiet = logging.getLogger("transformers.tokenization_utils_base")
        level = quiet.level
        quiet.setLevel(logging.ERROR)   # "sequence longer than the maximum" is expected here
        try:
            out = self.tokenizer(texts.values[0], pair, add_special_tokens=self.special_tokens,
                                 return_length=True, return_attention_mask=False,
                                 return_token_type_ids=False)
        finally:
            quiet.setLevel(level)
        return np.asarray(out["length"], dtype=np.int64)


def _unpadded_backend(tokenizer: Any) -> Any:
    """A copy of the Rust tokenizer with padding and truncation off, or None."""
    backend = getattr(tokenizer, "backend_tokenizer", None) if getattr(tokenizer, "is_fast", False) \
        else None
    if backend is None or not hasattr(backend, "encode_batch_fast"):
        return None
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(backend.to_str())
    copy.no_padding()
    copy.no_truncation()
    return copy
