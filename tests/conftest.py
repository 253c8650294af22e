"""Shared test setup: offline Hugging Face, paths to the shared real data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real data missing: {SHARED_DATA} (CI lays ../shared beside the repo)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    from shapeprof.models import default_model_dir

    return default_model_dir()


def installed_command() -> str:
    """The installed ``shapeprof`` console script next to this interpreter (or on PATH)."""
    import shutil
    import sys

    exe = shutil.which("shapeprof", path=str(Path(sys.executable).parent)) or shutil.which("shapeprof")
    if exe is None:
        pytest.fail("the shapeprof console script is not installed (pip install -e .)")
    return exe
