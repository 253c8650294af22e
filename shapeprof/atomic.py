"""Write-then-rename helpers: a failed or interrupted run leaves nothing half-written.

Output paths are checked before any work (``check_output_dir``, ``check_output_file``);
``sigterm_raises`` turns SIGTERM into :class:`Terminated`, so the same cleanup runs on
``kill``, ``timeout``, CI cancellation and ``docker stop`` as on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
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


class Terminated(BaseException):
    """SIGTERM arrived; like KeyboardInterrupt, no ``except Exception`` swallows it."""


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` and Ctrl-C ``KeyboardInterrupt`` (main
    thread only; restored after). A signal that lands while a module is being imported is sent
    again a moment later instead: raised inside a C extension's initialisation (onnx's, torch's),
    the exception can reach native code that aborts the process (exit -6, nothing cleaned up).
    A Ctrl-C that was ignored (a background job) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, outside_imports(raise_for_signal))}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, outside_imports(raise_for_signal))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


RESEND_S = 0.05       # how soon a signal that landed in an import is sent again


def signal_exception(signum: int) -> BaseException:
    """What a handled signal raises: ``KeyboardInterrupt`` for SIGINT, else :class:`Terminated`."""
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


def raise_for_signal(signum: int, frame: Any) -> None:
    """A signal handler raising :func:`signal_exception`."""
    raise signal_exception(signum)


def outside_imports(handler: Callable[[int, Any], None],
                    on_signal: Callable[[int], None] | None = None) -> Callable[[int, Any], None]:
    """``handler``, run when the signal lands outside an import; one that lands inside is sent
    again ``RESEND_S`` later (while this handler is still installed), so no exception is raised
    inside a C extension's initialisation. ``on_signal`` runs at every delivery, deferred or not."""
    def deferring(signum: int, frame: Any) -> None:
        if on_signal is not None:
            on_signal(signum)
        if not _importing(frame):
            handler(signum, frame)
            return
        timer = threading.Timer(RESEND_S, _resend, (signum, deferring))
        timer.daemon = True
        timer.start()

    return deferring


def _resend(signum: int, handler: Any) -> None:
    if signal.getsignal(signum) is handler:      # still installed
        os.kill(os.getpid(), signum)


def _importing(frame: Any) -> bool:
    """Whether the interrupted code runs inside an import (importlib's frames on its stack)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def check_creatable(directory: Path, error: type[ShapeprofError], what: str) -> None:
    """Refuse ``directory`` when it cannot exist or be written: an ancestor is a file or read-only."""
    here = Path(os.path.abspath(Path(directory).expanduser()))
    while not here.exists():
        if here.parent == here:
            break
        if here.is_symlink():  # a dangling link
            raise error(f"cannot create {what}: {str(here)!r} is a broken symbolic link")
        here = here.parent
    if not here.is_dir():
        raise error(f"cannot create {what}: {str(here)!r} is a file, not a directory; choose another path")
    if not os.access(here, os.W_OK | os.X_OK):
        raise error(f"cannot create {what}: no permission to write in {str(here)!r}; "
                    "choose a writable location")
    try:  # a read-only or special file system passes os.access for root
        os.rmdir(tempfile.mkdtemp(prefix=".shapeprof-probe-", dir=here))
    except OSError as e:
        raise error(f"cannot create {what}: cannot write in {str(here)!r} "
                    f"({e.strerror or type(e).__name__}); choose a writable location") from e


def check_output_dir(path: Path, overwrite: bool, error: type[ShapeprofError]) -> None:
    """Refuse a file, a non-empty directory (unless ``overwrite``) or an unwritable parent."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise error(f"output path {str(path)!r} is a file; give a directory path")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise error(f"output directory {str(path)!r} is not empty; "
                    "choose another path or pass --overwrite")
    check_creatable(path.parent, error, f"output directory {str(path)!r}")


def check_output_file(path: str | Path, error: type[ShapeprofError], flag: str = "output") -> None:
    """Refuse a results path that is a directory or whose folder cannot be written, before work."""
    if str(path).endswith(("/", os.sep)) or Path(path).expanduser().is_dir():
        raise error(f"{flag} {str(path)!r} is a directory; give a file path")
    check_creatable(Path(path).expanduser().parent, error, f"{flag} {str(path)!r}")


def _os_error(error: type[ShapeprofError], what: str, e: OSError) -> ShapeprofError:
    return error(f"cannot write {what}: {e.strerror or type(e).__name__}; "
                 "check the path, its permissions and free disk space")


@contextlib.contextmanager
def atomic_dir(path: Path, overwrite: bool, error: type[ShapeprofError]) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; rename it to ``path`` on success only."""
    path = Path(path)
    check_output_dir(path, overwrite, error)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as e:
        raise _os_error(error, f"output directory {str(path)!r}", e) from e
    try:
        yield tmp
        try:
            _publish_dir(tmp, path)
        except OSError as e:
            raise _os_error(error, f"output directory {str(path)!r}", e) from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _publish_dir(tmp: Path, path: Path) -> None:
    for item in (tmp, *tmp.rglob("*")):
        _ordinary_mode(item, 0o777 if item.is_dir() else 0o666)
    if path.exists():
        old = path.with_name(f".{path.name}.old-{os.getpid()}")
        path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(path)


@contextlib.contextmanager
def atomic_file(path: Path, error: type[ShapeprofError] = ShapeprofError) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; it replaces ``path`` on success only.

    An OSError while writing (permissions, a full disk) becomes one ``error`` naming ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise _os_error(error, repr(str(path)), e) from e
    os.close(fd)
    tmp = Path(name)
    try:
        try:
            yield tmp
            _ordinary_mode(tmp, 0o666)
            os.replace(tmp, path)
        except OSError as e:
            raise _os_error(error, repr(str(path)), e) from e
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_json(path: Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file and an atomic rename."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
