"""Ctrl-C and SIGTERM that library code cannot lose.

Python runs a signal handler in the main thread between bytecodes, so its exception is raised
wherever the main thread happens to be. Inside a library's wait loop that is not always
somewhere the exception survives: a C++ wait that polls for signals may turn it into a status it
then drops. A latch remembers the signal as well as raising it, and the job asks the latch again
after every block and at the end, so an interrupt is never silently turned into a finished run.
A signal that lands inside an import is latched at once and raised just after the import
(``atomic.outside_imports``).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .atomic import outside_imports, raise_for_signal, signal_exception

SIGNALS = (signal.SIGINT, signal.SIGTERM)
Handler = Callable[[int, Any], Any] | int | None


class Latch:
    """Remembers the first SIGINT or SIGTERM received; ``check`` raises it again."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.handler = outside_imports(raise_for_signal, self._record)    # installed as is

    def _record(self, signum: int) -> None:
        if self.received is None:
            self.received = signum

    def check(self) -> None:
        if self.received is not None:
            raise signal_exception(self.received)


def current_handlers() -> dict[int, Handler]:
    return {s: signal.getsignal(s) for s in SIGNALS}


@contextmanager
def latched(before: dict[int, Handler] | None = None) -> Iterator[Latch]:
    """While inside, SIGINT and SIGTERM raise and are latched; ``before`` (the handlers to return
    to, by default the current ones) is restored after. A signal ignored in ``before`` (a job
    started in the background ignores Ctrl-C) stays ignored. Outside the main thread: no-op."""
    latch = Latch()
    if threading.current_thread() is not threading.main_thread():
        yield latch
        return
    before = before if before is not None else current_handlers()
    for sig, old in before.items():
        if old != signal.SIG_IGN:
            signal.signal(sig, latch.handler)
    try:
        yield latch
    finally:
        restore(before)


def restore(handlers: dict[int, Handler]) -> None:
    """Put ``handlers`` back (main thread only; a handler Python cannot name is left alone)."""
    if threading.current_thread() is threading.main_thread():
        for sig, old in handlers.items():
            if old is not None:
                signal.signal(sig, old)
