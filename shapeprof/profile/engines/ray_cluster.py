"""The Ray cluster a profile runs on: joined at an address, or a local instance started and stopped.

Without ``--ray-address`` and without ``RAY_ADDRESS`` a local instance is started, sized to the
machine, with its logs kept off the terminal, and shut down at the end (also on an error,
Ctrl-C or SIGTERM: the handlers ``ray.init`` installs are replaced by latching ones, and the
ones before it come back at the end; see ``shapeprof.interrupts``). A
Ray session the caller already opened (a notebook, a test fixture) is used as it is and left
running. An address is checked with a short TCP connect first:
``ray.init`` itself waits minutes on an address nobody answers.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType

from ...atomic import Terminated
from ...errors import ProfileError
from ...interrupts import Latch, current_handlers, latched, restore

ADDRESS_ENV = "RAY_ADDRESS"
CONNECT_TIMEOUT_S = 3.0
BACKEND_LOG_LEVEL = "RAY_BACKEND_LOG_LEVEL"   # Ray's C++ log lines on stderr: fatal ones only
EXTRA_HINT = "install the extra: pip install 'shapeprof[ray]'"


@dataclass(frozen=True)
class Cluster:
    """Where the job runs: how many CPUs Ray offers and whether we started it."""

    address: str | None       # None: a local instance
    cpus: int
    started_here: bool
    latch: Latch | None = None   # the job's Ctrl-C / SIGTERM latch (None: the caller's session)

    def check_interrupt(self) -> None:
        """Raise a Ctrl-C or SIGTERM received during the job, even one a library swallowed."""
        if self.latch is not None:
            self.latch.check()


def import_ray() -> ModuleType:
    """``ray`` with Ray Data, or a one-line error naming the extra to install."""
    try:
        import ray
        import ray.data  # noqa: F401  (the data extra: pyarrow, pandas... and ray.data itself)
    except ImportError as e:
        raise ProfileError(f"--engine ray needs Ray Data, which is not installed ({e}); "
                           f"{EXTRA_HINT}, or use --engine stream") from e
    return ray


def cluster_address(address: str | None) -> str | None:
    """The address to join: ``--ray-address``, else ``$RAY_ADDRESS``, else None (start locally)."""
    chosen = address if address is not None else os.environ.get(ADDRESS_ENV)
    return chosen.strip() or None if chosen is not None else None


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """A TCP connect to ``host:port`` (``ray://`` and ``auto`` addresses included) or an error."""
    if address in ("auto", "local"):
        return
    target = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ProfileError(f"--ray-address {address!r} is not HOST:PORT (e.g. 10.0.0.5:6379 or "
                           "ray://10.0.0.5:10001); pass the head node's address")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise ProfileError(f"cannot reach the Ray cluster at {address!r} ({reason}); start it "
                           "with 'ray start --head' or omit --ray-address (and RAY_ADDRESS) to "
                           "start a local instance") from e


@contextmanager
def ray_cluster(address: str | None = None, num_cpus: int | None = None) -> Iterator[Cluster]:
    """Join ``address`` (or ``$RAY_ADDRESS``), reuse an open session, or start a local instance."""
    ray = import_ray()
    quiet_ray()
    if ray.is_initialized():
        yield Cluster(None, _cpus(ray), False)
        return
    target = cluster_address(address)
    if target is not None:
        check_reachable(target)
    before = current_handlers()
    latch: Latch | None = None
    try:
        started = _init(ray, target, num_cpus)
        # Ray's driver replaces the SIGTERM handler (with ``sys.exit``, then its C++ failure
        # handler, which aborts the process and skips ``ray.shutdown``, leaving its agents
        # running); with latching ones in its place, Ctrl-C and SIGTERM raise in Python, the
        # ``finally`` shuts Ray down and the CLI prints one line. ``latched`` restores ``before``.
        with latched(before) as latch:
            yield Cluster(target, _cpus(ray), started, latch)
    finally:
        if latch is None:    # ray.init failed or was interrupted: its handlers may be in place
            restore(before)
        ray.shutdown()


def _init(ray: ModuleType, target: str | None, num_cpus: int | None) -> bool:
    options = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                   configure_logging=True)
    try:
        with _env(BACKEND_LOG_LEVEL, os.environ.get(BACKEND_LOG_LEVEL, "fatal")):
            if target is None:
                ray.init(num_cpus=num_cpus or os.cpu_count() or 1, **options)
            else:
                ray.init(address=target, **options)
    except SystemExit as e:    # Ray's own SIGTERM handler (sys.exit(15)), while ray.init runs
        if e.code == signal.SIGTERM:
            raise Terminated() from e
        raise
    except Exception as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        where = f"join the Ray cluster at {target!r}" if target else "start a local Ray instance"
        raise ProfileError(f"cannot {where} ({first}); check the address, or that "
                           "/tmp has room for Ray's session files") from e
    return target is None


@contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    """``name=value`` in the environment while Ray starts (its processes inherit it)."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def _cpus(ray: ModuleType) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def quiet_ray() -> None:
    """Ray Data's progress bars and INFO lines off the terminal (its logs stay in /tmp/ray)."""
    for name in ("ray", "ray.data", "ray.train", "ray.tune"):
        logging.getLogger(name).setLevel(logging.ERROR)
