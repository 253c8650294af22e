"""Shared test setup: offline Hugging Face, paths to the shared real data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from support import SHARED_DATA, installed_command  # noqa: F401  (tests import these from support)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real data missing: {SHARED_DATA} (CI lays ../shared beside the repo)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    from shapeprof.default_model import default_model_dir

    return default_model_dir()


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory, minilm_dir) -> Path:
    """A saved tiny BERT (2 layers, hidden 32) with MiniLM's real tokenizer: fast real-data runs."""
    from transformers import AutoTokenizer

    from shapeprof.testing.tiny import tiny_model

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    model = tiny_model("bert", "feature-extraction", vocab_size=tokenizer.vocab_size,
                       max_position_embeddings=128)
    out = tmp_path_factory.mktemp("tiny-bert") / "model"
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
