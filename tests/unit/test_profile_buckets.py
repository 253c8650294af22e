"""Bucket boundaries: the dynamic programme is optimal (checked by brute force)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from shapeprof.profile.buckets import (AUTO_MAX_BUCKETS, bucket_plan, choose_k, optimal_edges, sorted_waste,
                                       padded_tokens)
from shapeprof.profile.stats import as_arrays


def brute_force(values, counts, k):
    """Least padding over every choice of k-1 inner edges (the last edge is the max)."""
    return min(padded_tokens(values, counts, [*inner, values[-1]])
               for inner in itertools.combinations(values[:-1], k - 1))


@pytest.mark.parametrize("seed", range(40))
def test_dp_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 9))
    values = np.sort(rng.choice(np.arange(2, 80), size=m, replace=False))
    counts = rng.integers(1, 50, size=m)
    for k, (edges, pad) in enumerate(optimal_edges(values, counts, m), start=1):
        assert len(edges) == k and edges[-1] == values[-1]
        assert pad == padded_tokens(values, counts, edges) == brute_force(values, counts, k)


def test_constructed_clusters_are_found():
    counts = {5: 100, 6: 100, 30: 50, 31: 50, 100: 10}
    plan = bucket_plan(counts, 3)
    assert plan.edges == [6, 31, 100]
    assert plan.padded_tokens == 100 + 50
    assert [b.rows for b in plan.buckets] == [200, 100, 10]
    assert [(b.lo, b.hi) for b in plan.buckets] == [(5, 6), (30, 31), (100, 100)]


def test_more_buckets_than_lengths_pads_nothing():
    plan = bucket_plan({4: 1, 9: 2}, 5)
    assert plan.k == 2 and plan.padded_tokens == 0 and plan.edges == [4, 9]


def test_one_bucket_pads_to_the_max():
    values, counts = as_arrays({2: 3, 10: 1})
    assert optimal_edges(values, counts, 1) == [([10], 24)]


def test_waste_curve_never_rises():
    rng = np.random.default_rng(0)
    counts = {int(v): int(c) for v, c in zip(rng.integers(2, 200, 120), rng.integers(1, 30, 120))}
    curve = bucket_plan(counts).waste_by_k
    assert all(a >= b for a, b in zip(curve, curve[1:]))


def test_auto_rule():
    assert choose_k([0.04, 0.0]) == 1                            # already within 5 %
    assert choose_k([0.9, 0.04, 0.0]) == 2
    assert choose_k([1.0, 0.5, 0.3, 0.2, 0.1]) == 5              # none within 5 %: the last given
    assert choose_k([1.0, 0.5, 0.3, 0.15, 0.1], sorted_waste=0.1) == 4   # 1.15 <= 1.05 * 1.1
    assert choose_k([1.0, 0.5, 0.3, 0.16, 0.1], sorted_waste=0.1) == 5   # 1.16 > 1.155
    assert choose_k([10.0 / k for k in range(1, 20)]) == AUTO_MAX_BUCKETS


def test_sorted_waste_pads_each_run_to_its_longest():
    values, counts = as_arrays({2: 2, 4: 1, 8: 1})           # sorted rows 2,2,4,8
    assert sorted_waste(values, counts, 2) == pytest.approx(4 / 16)    # runs (2,2) (4,8): pad 4
    assert sorted_waste(values, counts, 1) == 0.0


def test_auto_plan_records_rule_and_curve():
    plan = bucket_plan({8: 50, 16: 50, 64: 5, 128: 1})
    assert plan.rule.startswith("smallest k") and len(plan.waste_by_k) >= plan.k
    assert plan.waste == pytest.approx(plan.waste_by_k[plan.k - 1])


def test_bad_k():
    with pytest.raises(ValueError):
        bucket_plan({3: 1}, 0)
