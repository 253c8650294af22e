"""The interrupt latch: a Ctrl-C or SIGTERM that library code swallows is raised again."""

from __future__ import annotations

import os
import signal

import pytest

from shapeprof.atomic import Terminated
from shapeprof.interrupts import current_handlers, latched


def _swallowed(sig: int) -> None:
    """A signal delivered inside code that drops every exception (as a C++ wait loop may)."""
    try:
        os.kill(os.getpid(), sig)
        for _ in range(1000):      # the handler runs between bytecodes, here
            pass
    except BaseException:
        pass


@pytest.mark.parametrize("sig, raised", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)])
def test_a_swallowed_signal_is_raised_again_by_check(sig, raised):
    before = current_handlers()
    with latched() as latch:
        latch.check()                       # nothing received yet
        _swallowed(sig)
        assert latch.received == sig
        with pytest.raises(raised):
            latch.check()
    assert current_handlers() == before


def test_an_ignored_ctrl_c_stays_ignored():
    """A job started in the background ignores Ctrl-C; the latch keeps it so."""
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with latched() as latch:
            assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
            latch.check()
            assert latch.received is None
            assert signal.getsignal(signal.SIGTERM) == latch.handler
    finally:
        signal.signal(signal.SIGINT, old)


def test_the_handlers_before_come_back_when_the_body_replaced_them():
    """Ray's init replaces handlers; the latch restores the ones given, not the ones it found."""
    before = current_handlers()
    signal.signal(signal.SIGTERM, lambda s, f: None)
    try:
        with latched(before):
            pass
        assert current_handlers() == before
    finally:
        signal.signal(signal.SIGTERM, before[signal.SIGTERM])
