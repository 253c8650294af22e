"""The calling thread's denormal mode is set explicitly both ways, and restored."""

from __future__ import annotations

from shapeprof.bench.runner import thread_flushes_denormals, torch_denormals


def test_torch_denormals_sets_the_calling_thread_both_ways_and_restores():
    start = thread_flushes_denormals()
    with torch_denormals(True):
        assert thread_flushes_denormals()
        with torch_denormals(False):
            assert not thread_flushes_denormals()
        assert thread_flushes_denormals()
    assert thread_flushes_denormals() == start
    with torch_denormals(False):
        assert not thread_flushes_denormals()
    assert thread_flushes_denormals() == start
