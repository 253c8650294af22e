"""Write-then-rename helpers: a failed or interrupted run leaves nothing half-written."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import ShapeprofError


def check_output_dir(path: Path, overwrite: bool, error: type[ShapeprofError]) -> None:
    """Refuse a non-empty existing ``path`` unless ``overwrite``."""
    if path.exists() and not path.is_dir():
        raise error(f"output path {str(path)!r} is a file; give a directory path")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise error(f"output directory {str(path)!r} is not empty; "
                    "choose another path or pass --overwrite")


@contextlib.contextmanager
def atomic_dir(path: Path, overwrite: bool, error: type[ShapeprofError]) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; rename it to ``path`` on success only."""
    path = Path(path)
    check_output_dir(path, overwrite, error)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            path.rename(old)
            tmp.rename(path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_json(path: Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
