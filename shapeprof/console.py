"""Progress on stderr, one small helper for every stage.

``say`` prints one line. ``progress`` tracks a long step: on a terminal a tqdm bar (refreshed
every second, so elapsed time moves during a long call); elsewhere (CI logs, pipes) a plain
line at least every ``LINE_EVERY_S`` seconds with the position, total, elapsed time and ETA,
even while a single long call runs (a step done sooner prints nothing). Disabled (``--quiet``), both print nothing.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

LINE_EVERY_S = 10.0     # non-terminal output: a line at least this often
TICK_S = 1.0            # how often the background ticker looks at the clock
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"
SHARE_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]"


def say(enabled: bool, message: str) -> None:
    """Print ``shapeprof: message`` on stderr when ``enabled`` (progress, never results)."""
    if enabled:
        print(f"shapeprof: {message}", file=sys.stderr, flush=True)


class _Sink:
    """Where the line-mode tqdm renders to: nowhere (lines are printed by ``Progress``)."""

    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


class Progress:
    """A tqdm bar on a terminal, else a line every ``every`` seconds; a no-op when disabled.

    ``update(n, now=...)`` advances; ``now`` names what runs next (shown after the counts).
    ``total`` may count weighted work (e.g. tokens): ETAs then hold from the first step, and
    ``percent`` shows the position as a share of the total (``now`` then says where it is).
    ``clock`` and ``tty`` are injectable so tests can drive the line mode with a fake clock;
    ``ticker=False`` leaves out the background thread (tests call ``tick`` themselves).
    """

    def __init__(self, total: float | None, desc: str, *, unit: str = "steps", percent: bool = False,
                 enabled: bool = True,
                 stream: TextIO | None = None, tty: bool | None = None, every: float = LINE_EVERY_S,
                 clock: Callable[[], float] = time.monotonic, ticker: bool = True) -> None:
        from tqdm.auto import tqdm

        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = _isatty(self.stream) if tty is None else tty
        self.desc, self.unit, self.every, self.clock = desc, unit, every, clock
        self.percent = percent and total is not None
        self.now = ""
        self.lines = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        kwargs: dict[str, Any] = dict(total=total, desc=desc, unit=unit, leave=False, disable=not enabled)
        if self.tty:
            fmt = SHARE_FORMAT if self.percent else BAR_FORMAT
            self.bar = tqdm(file=self.stream, dynamic_ncols=True, bar_format=fmt, **kwargs)
        else:   # rendered by us, line by line; tqdm keeps the counts, rate and ETA
            self.bar = tqdm(file=_Sink(), mininterval=float("inf"), **kwargs)
            self.bar.start_t = self.bar.last_print_t = clock()
        self._last = clock()      # the stage's own ``say`` line opens it; the first line after ``every``
        self._thread = None
        if enabled and ticker:
            self._thread = threading.Thread(target=self._run, name=f"progress-{desc}", daemon=True)
            self._thread.start()

    # ---- what stages call -------------------------------------------------------------------
    def update(self, n: float = 1, now: str | None = None) -> None:
        with self._lock:
            if now is not None:
                self._set_now(now)
            self.bar.update(n)
            if not self.tty:
                self._maybe_emit()

    def set_now(self, now: str) -> None:
        """Name the step that runs now (e.g. ``converting model.onnx``)."""
        with self._lock:
            self._set_now(now)
            if not self.tty:
                self._maybe_emit()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self.enabled and not self.tty and self.lines:    # a short step stays silent
                self._emit(done=True)
            self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the clock ----------------------------------------------------------------------------
    def tick(self) -> None:
        """Refresh the bar (terminal) or print a line when ``every`` seconds have passed."""
        with self._lock:
            if self.tty:
                self.bar.refresh()
            else:
                self._maybe_emit()

    def _run(self) -> None:
        while not self._stop.wait(min(TICK_S, self.every)):
            self.tick()

    def _set_now(self, now: str) -> None:
        self.now = now
        if self.tty:
            self.bar.set_postfix_str(now, refresh=False)

    def _maybe_emit(self) -> None:
        if self.enabled and self.clock() - self._last >= self.every:
            self._emit()

    def _emit(self, done: bool = False) -> None:
        from tqdm import tqdm

        n, total = self.bar.n, self.bar.total
        elapsed = self.clock() - self.bar.start_t
        if self.percent:
            where = f"{self.desc}: {100 * n / max(total, 1e-12):.0f}%"
        else:
            where = f"{self.desc}: {_count(n)}/{'?' if total is None else _count(total)} {self.unit}"
        if done:
            text = f"{where}, done in {tqdm.format_interval(elapsed)}"
        else:
            rate = n / elapsed if n and elapsed > 0 else None
            eta = "?" if rate is None or total is None else tqdm.format_interval(max(0.0, (total - n) / rate))
            text = f"{where} [{tqdm.format_interval(elapsed)} elapsed, ETA {eta}]"
            text += f"; {self.now}" if self.now else ""
        print(f"shapeprof: {text}", file=self.stream, flush=True)
        self._last = self.clock()
        self.lines += 1


def progress(total: float | None, desc: str, enabled: bool = True, unit: str = "steps",
             **kwargs: Any) -> Progress:
    """A :class:`Progress` on stderr (see the module doc)."""
    return Progress(total, desc, unit=unit, enabled=enabled, **kwargs)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _count(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
