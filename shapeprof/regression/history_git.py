"""Which commit a run measured: a SHA given by the user, or the HEAD of a git checkout.

Where git knows the commit, the history stores its full SHA and committer time (the series'
order); a commit git cannot see here is stored as given, ordered by when it was measured.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import HistoryError

HEX = re.compile(r"^[0-9a-fA-F]{7,64}$")
REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/~^@{}-]{0,199}$")


@dataclass(frozen=True)
class Commit:
    sha: str
    time: str | None = None       # committer time, UTC ISO; None when git does not know it
    dirty: bool = False           # the checkout had uncommitted changes to tracked files


def _git(cwd: str | Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, timeout=30,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def resolve_commit(commit: str | None, cwd: str | Path = ".") -> Commit:
    """``commit`` (a SHA or revision) resolved by git in ``cwd`` when it can be, else as given;
    None means HEAD of the checkout at ``cwd``, which must exist."""
    if commit is None:
        sha = _git(cwd, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        if not sha:
            raise HistoryError(f"no --commit given and {str(cwd)!r} is not a git checkout with a "
                               "commit; pass --commit SHA")
        dirty = bool(_git(cwd, "status", "--porcelain", "--untracked-files=no"))
        return Commit(sha, _time(cwd, sha), dirty)
    if not REVISION.match(commit):
        raise HistoryError(f"--commit {commit!r} is not a commit name; give a SHA (git rev-parse HEAD)")
    sha = _git(cwd, "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}")
    if sha:
        return Commit(sha, _time(cwd, sha))
    if not HEX.match(commit):
        raise HistoryError(f"git cannot resolve --commit {commit!r} in {str(cwd)!r}; give the "
                           "commit's SHA (7 to 64 hex digits)")
    return Commit(commit.lower())


def _time(cwd: str | Path, sha: str) -> str | None:
    text = _git(cwd, "show", "-s", "--format=%cI", sha)
    if not text:
        return None
    return datetime.fromisoformat(text).astimezone(timezone.utc).isoformat(timespec="seconds")
