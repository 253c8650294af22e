"""Fixtures for the data and profile unit tests: real GLUE files in place, local tokenizers."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import REPO, load_script

# tests/conftest.py sets HF offline mode and provides ``minilm_dir`` and ``shared_data``.

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
GLUE_DIR = SHARED / "glue"
TINY_GPT2 = SHARED / "models" / "tiny-gpt2"


@pytest.fixture(autouse=True)
def _no_data_dir_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their data dir explicitly."""
    monkeypatch.delenv("SHAPEPROF_DATA_DIR", raising=False)


@pytest.fixture(scope="module")
def census():
    """benchmarks/census.py, loaded afresh for each test module."""
    return load_script(REPO / "benchmarks" / "census.py")


@pytest.fixture
def gate_calibration(monkeypatch: pytest.MonkeyPatch):
    """benchmarks/gate_calibration.py, with benchmarks/ on sys.path for its sibling imports."""
    bench = REPO / "benchmarks"
    monkeypatch.syspath_prepend(str(bench))
    return load_script(bench / "gate_calibration.py")


@pytest.fixture(scope="session")
def glue_dir() -> Path:
    if not (GLUE_DIR / "SST-2" / "dev.tsv").is_file():
        pytest.fail(f"shared GLUE data not found at {GLUE_DIR} (CI lays ../shared beside the repo)")
    return GLUE_DIR


@pytest.fixture(scope="session")
def minilm(minilm_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_dir)


@pytest.fixture(scope="session")
def gpt2_dir() -> Path:
    if not (TINY_GPT2 / "tokenizer.json").is_file():
        pytest.fail(f"tiny-gpt2 not found at {TINY_GPT2}")
    return TINY_GPT2


@pytest.fixture(scope="session")
def gpt2(gpt2_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gpt2_dir)


def _write_tsv(path: Path, header: list[str] | None, rows: list[list[str]], bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (["\t".join(header)] if header else []) + ["\t".join(r) for r in rows]
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def write_tsv():
    """``write_tsv(path, header, rows, bom=False)``: a GLUE-style TSV (no quoting; header None = none)."""
    return _write_tsv
