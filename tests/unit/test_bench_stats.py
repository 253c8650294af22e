"""Latency statistics and interpolation on synthetic samples (no timing)."""

from __future__ import annotations

import numpy as np
import pytest

from shapeprof.bench.stats import interpolate, relative_error, summarize, throughput


def test_summary_matches_numpy_on_synthetic_samples():
    rng = np.random.default_rng(0)
    samples = rng.lognormal(0.0, 0.3, size=1001)
    s = summarize(samples)
    assert s.n == 1001
    assert s.p50 == pytest.approx(np.median(samples))
    assert s.p90 == pytest.approx(np.percentile(samples, 90))
    assert s.p99 == pytest.approx(np.percentile(samples, 99))
    assert s.mean == pytest.approx(samples.mean())
    assert s.std == pytest.approx(samples.std(ddof=1))
    assert s.min <= s.p50 <= s.p90 <= s.p99 <= s.max


def test_summary_of_one_sample_and_of_none():
    s = summarize([2.5])
    assert (s.p50, s.p99, s.std) == (2.5, 2.5, 0.0)
    with pytest.raises(ValueError):
        summarize([])


def test_exact_percentiles_on_a_known_sequence():
    s = summarize(list(range(1, 101)))       # 1..100
    assert s.p50 == pytest.approx(50.5)
    assert s.p90 == pytest.approx(90.1)
    assert s.p99 == pytest.approx(99.01)


def test_throughput_counts_sequences_and_tokens():
    assert throughput(32, 32 * 24, 10.0) == pytest.approx((3200.0, 76800.0))


def test_interpolation_is_linear_between_points_flat_below_and_extrapolated_above():
    got = interpolate([16, 64], [1.0, 4.0], [8, 16, 40, 64, 112])
    assert got.tolist() == pytest.approx([1.0, 1.0, 2.5, 4.0, 7.0])


def test_interpolation_never_extrapolates_downwards():
    got = interpolate([16, 64], [4.0, 3.0], [128])
    assert got.tolist() == [3.0]


def test_relative_error_sign():
    assert relative_error(1.1, 1.0) == pytest.approx(0.1)
    assert relative_error(0.9, 1.0) == pytest.approx(-0.1)
