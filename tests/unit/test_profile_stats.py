"""Statistics from length histograms agree with numpy on the expanded rows."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from shapeprof.profile.stats import as_arrays, axis_stats, percentile_from_counts

KNOWN = [3, 5, 5, 7, 8, 8, 8, 12, 20, 41]


@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 95, 99, 100])
def test_percentiles_match_numpy_on_known_data(q):
    values, counts = as_arrays(Counter(KNOWN))
    assert percentile_from_counts(values, counts, q) == pytest.approx(np.percentile(KNOWN, q))


def test_known_values():
    stats = axis_stats("sequence_length", Counter(KNOWN))
    assert (stats.min, stats.max, stats.rows) == (3, 41, 10)
    assert stats.p(50) == 8.0 and stats.p(90) == pytest.approx(22.1)
    assert stats.mean == pytest.approx(11.7) and stats.std == pytest.approx(np.std(KNOWN))


@pytest.mark.parametrize("seed", range(5))
def test_percentiles_match_numpy_on_random_data(seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(2, 300, size=rng.integers(1, 2000))
    stats = axis_stats("sequence_length", Counter(data.tolist()))
    for q in (50, 90, 95, 99):
        assert stats.p(q) == pytest.approx(np.percentile(data, q))
    assert stats.mean == pytest.approx(data.mean())


def test_histogram_covers_all_rows_in_integer_bins():
    data = list(range(4, 60)) * 3
    stats = axis_stats("sequence_length", Counter(data))
    bins = stats.histogram
    assert sum(b.count for b in bins) == len(data)
    assert bins[0].lo == 4 and bins[-1].hi == 59
    assert all(b.lo == a.hi + 1 for a, b in zip(bins, bins[1:]))


def test_constant_axis_does_not_vary():
    stats = axis_stats("sequence_length", {16: 100})
    assert not stats.varies and stats.p(99) == 16
    assert axis_stats("sequence_length", {16: 1, 17: 1}).varies


def test_truncation_share():
    stats = axis_stats("sequence_length", {10: 3, 512: 1}, truncated_rows=1, natural_max=900)
    assert stats.truncated_share == 0.25 and stats.natural_max == 900


def test_empty_histogram_is_an_error():
    with pytest.raises(ValueError):
        axis_stats("sequence_length", {})
