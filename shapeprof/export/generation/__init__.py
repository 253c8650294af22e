"""Generation parity: greedy decoding driven by onnxruntime must give transformers' tokens.

Per-shape parity can hide a broken cache (wrong positions after step one, a mask that
ignores left padding). So a decoder export also generates ``NEW_TOKENS`` tokens greedily
through the exported model, feeding each step's ``present.*`` back as the next
``past_key_values.*``, at batch 1 and at batch 3 with left padding, and compares them
token for token with ``model.generate``. EOS is suppressed on both sides so random-weight
models generate the full length.

Parity proves little when greedy decoding repeats one token: a constant matches a constant.
Each check records ``distinct_tokens``, the fewest distinct tokens transformers generated
in any row; a check with 1 is ``degenerate`` (the export notes it). The tests' tiny models
are built so that greedy decoding varies (:mod:`shapeprof.testing.tiny`), and the matrix
tests require it.

Encoder-decoders run ``encoder_model.onnx`` once and ``decoder_model.onnx`` per token, from
the decoder start token, feeding back both caches (see :mod:`shapeprof.onnx.seq2seq`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

NEW_TOKENS = 20
PROMPT_LENGTHS = ((7,), (7, 4, 2))     # batch 1; batch 3, left-padded to the longest


@dataclass(frozen=True)
class GenerationCheck:
    label: str
    batch_size: int
    new_tokens: int
    matching_tokens: int        # leading tokens equal in every row
    passed: bool
    distinct_tokens: int | None = None  # fewest distinct expected tokens in a row; None: older file

    @property
    def degenerate(self) -> bool:
        """Greedy decoding repeated one token in some row: parity there proves nothing."""
        return self.distinct_tokens is not None and self.distinct_tokens <= 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GenerationCheck:
        distinct = d.get("distinct_tokens")
        return cls(str(d["label"]), int(d["batch_size"]), int(d["new_tokens"]),
                   int(d["matching_tokens"]), bool(d["passed"]), None if distinct is None else int(distinct))


def generation_record(checks: Sequence[GenerationCheck]) -> dict[str, Any]:
    """What ``generation.json`` holds (see shapeprof.schema)."""
    from ... import schema

    return {"schema_version": schema.GENERATION.version, "passed": all(c.passed for c in checks),
            "checks": [c.to_dict() for c in checks]}


def load_generation_checks(path: str | Path) -> tuple[GenerationCheck, ...]:
    """The checks of a ``generation.json``, older files migrated."""
    from ... import schema
    from ...errors import VerificationError

    data = schema.load("generation", Path(path))
    try:
        return tuple(GenerationCheck.from_dict(c) for c in data["checks"])
    except (KeyError, TypeError, ValueError) as e:
        raise VerificationError(f"generation checks {str(path)!r} are missing or have a bad field "
                                f"({e!r}); re-run 'shapeprof export'") from e


def distinct_tokens(tokens: np.ndarray) -> int:
    """The fewest distinct tokens in any row of a (batch, new tokens) array."""
    return min(len(np.unique(row)) for row in tokens)


def is_generative(cfg: Any) -> bool:
    return cfg.task in ("text-generation", "text-generation-with-past") or is_seq2seq(cfg)


def is_seq2seq(cfg: Any) -> bool:
    return bool(getattr(cfg, "is_split", False))


def verify_generation(model: Any, cfg: Any, out_dir: Any, seed: int = 0,
                      on_batch: Callable[[str], None] | None = None) -> list[GenerationCheck]:
    """Greedy tokens through the export in ``out_dir`` vs ``generate``, per prompt batch;
    ``on_batch(label)`` after each (progress)."""
    from ...layout import ONNX_FILE

    if is_seq2seq(cfg):
        from .seq2seq import Seq2SeqGenerator

        generator: Any = Seq2SeqGenerator(model, cfg, Path(out_dir))
    else:
        from .decoder import DecoderGenerator

        generator = DecoderGenerator(model, cfg, Path(out_dir) / ONNX_FILE)
    checks = []
    for lengths in PROMPT_LENGTHS:
        inputs = generator.prompts(lengths, seed)
        expected = generator.torch(inputs, NEW_TOKENS)
        label = "batch 1" if len(lengths) == 1 else f"batch {len(lengths)}, {generator.padding}"
        got = _onnx_tokens(generator, inputs, label)
        same = int(np.argmin(np.all(got == expected, axis=0).tolist() + [False]))
        checks.append(GenerationCheck(label, len(lengths), NEW_TOKENS, same, same == NEW_TOKENS,
                                      distinct_tokens(expected)))
        if on_batch is not None:
            on_batch(label)
    return checks


def _onnx_tokens(generator: Any, inputs: Any, label: str) -> np.ndarray:
    """Greedy tokens through onnxruntime; a graph the loop cannot run (an input it does not
    feed, a kernel failing at a step's shape) is a verification failure, not a crash."""
    from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidArgument, RuntimeException

    from ...errors import VerificationError

    try:
        return generator.onnx(inputs, NEW_TOKENS)
    except (ValueError, Fail, InvalidArgument, RuntimeException) as e:
        raise VerificationError(f"greedy generation through onnxruntime fails at {label}: "
                                f"{str(e).strip().splitlines()[0][:200]}; the exported graph cannot run "
                                "the generation loop (an input it does not feed, or a step's shape)") from e
