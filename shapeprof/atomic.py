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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _ordinary_mode(path: Path, mode: int) -> None:
    """mkdtemp/mkstemp create private (0700/0600) paths; give the result the usual umask mode."""
    os.chmod(path, mode & ~_umask())


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
        for item in (tmp, *tmp.rglob("*")):
            _ordinary_mode(item, 0o777 if item.is_dir() else 0o666)
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


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; it replaces ``path`` on success only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _ordinary_mode(tmp, 0o666)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_json(path: Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file and an atomic rename."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
