"""Helpers the tests import (a module name no conftest.py shadows)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def installed_command() -> str:
    """The installed ``shapeprof`` console script next to this interpreter (or on PATH)."""
    import shutil
    import sys

    exe = shutil.which("shapeprof", path=str(Path(sys.executable).parent)) or shutil.which("shapeprof")
    if exe is None:
        pytest.fail("the shapeprof console script is not installed (pip install -e .)")
    return exe
