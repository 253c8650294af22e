"""The tiny generative T5 verifies with a real tokenizer's vocabulary too (GPT-2's, 50257 ids),
as the census builds it, and its greedy decoding still varies."""

from __future__ import annotations

from pathlib import Path

from shapeprof.export import export
from shapeprof.testing.tiny import tiny_model


def test_tiny_t5_with_a_50k_vocabulary_verifies_and_varies(tmp_path: Path) -> None:
    task = "text2text-generation-with-past"
    result = export(tiny_model("t5", task, vocab_size=50257), tmp_path / "out", task)   # strict: raises on a mismatch
    assert result.verification.passed
    assert result.generation and all(c.passed and not c.degenerate for c in result.generation)
