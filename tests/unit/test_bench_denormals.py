"""The calling thread's denormal mode is set explicitly both ways, and restored."""

from __future__ import annotations

from shapeprof.bench.runner import calling_thread_denormals, thread_flushes_denormals


def test_calling_thread_denormals_sets_the_calling_thread_both_ways_and_restores():
    start = thread_flushes_denormals()
    with calling_thread_denormals(True):
        assert thread_flushes_denormals()
        with calling_thread_denormals(False):
            assert not thread_flushes_denormals()
        assert thread_flushes_denormals()
    assert thread_flushes_denormals() == start
    with calling_thread_denormals(False):
        assert not thread_flushes_denormals()
    assert thread_flushes_denormals() == start
