"""Expected latency per padding policy on constructed histograms with a known latency law."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from shapeprof.bench.expected import (LatencyModel, Policy, estimate, expand, parse_policy,
                                      plan_batches, predict_batches)
from shapeprof.errors import BenchError

COUNTS = {4: 3, 8: 2, 16: 3}                     # 8 rows


def linear_law(b: int, n: int) -> float:         # ms; exactly linear in batch and in length
    return 1.0 + 0.1 * b * n


def model(batches=(1, 4), lengths=(4, 8, 16)) -> LatencyModel:
    return LatencyModel((b, n, linear_law(b, n)) for b in batches for n in lengths)


def test_latency_model_is_exact_on_a_bilinear_law_inside_the_grid():
    m = model()
    for b, n in [(1, 4), (4, 16), (2, 8), (3, 12)]:
        assert m(b, n) == pytest.approx(linear_law(b, n))


def test_fixed_padding_pads_every_row_and_cuts_longer_ones():
    est = estimate(model(), COUNTS, Policy("pad", pad_to=8), batch_size=4)
    assert est.batches == 2 and est.rows == 8
    assert est.total_s * 1000 == pytest.approx(2 * linear_law(4, 8))
    assert est.real_tokens == 3 * 4 + 2 * 8 + 3 * 8
    assert est.padded_tokens == 8 * 8 - est.real_tokens
    assert est.sequences_per_s == pytest.approx(8 / est.total_s)


def test_sorted_and_buckets_plan_exact_batches_with_partial_ones():
    m = model()
    srt = estimate(m, COUNTS, Policy("sorted"), batch_size=4)
    # sorted: [4,4,4,8] -> 8, [8,16,16,16] -> 16
    assert srt.total_s * 1000 == pytest.approx(linear_law(4, 8) + linear_law(4, 16))
    bkt = estimate(m, COUNTS, Policy("buckets", edges=(8, 16)), batch_size=4)
    # bucket 8 holds 5 rows -> a batch of 4 and one of 1; bucket 16 holds 3 rows
    want = linear_law(4, 8) + linear_law(1, 8) + linear_law(3, 16)
    assert bkt.total_s * 1000 == pytest.approx(want)
    assert bkt.padded_tokens == 3 * 4


def test_longest_in_batch_equals_the_average_over_all_orders():
    """The F(l)^B formula is the exact mean over independent draws; check by enumeration."""
    m = model()
    lengths = expand(COUNTS)
    b = 2
    est = estimate(m, COUNTS, Policy("longest"), batch_size=b)
    draws = [linear_law(b, max(pair)) for pair in itertools.product(lengths, repeat=b)]
    assert est.batch_latency_ms == pytest.approx(np.mean(draws))
    assert est.batches == pytest.approx(len(lengths) / b)


def test_plan_batches_keeps_data_order_for_longest():
    lengths = np.array([3, 9, 2, 2, 5])
    plan = plan_batches(lengths, Policy("longest"), 2)
    assert [(idx.tolist(), pad) for idx, pad in plan] == [([0, 1], 9), ([2, 3], 2), ([4], 5)]
    assert predict_batches(model(), [(2, 8), (1, 4)]).tolist() == pytest.approx(
        [linear_law(2, 8), linear_law(1, 4)])


def test_outside_measured_is_reported():
    est = estimate(model(lengths=(4, 8)), COUNTS, Policy("pad", pad_to=16), batch_size=4)
    assert est.outside_measured == 1.0


def test_parse_policy():
    assert parse_policy("pad:128", 64).pad_to == 64
    assert parse_policy("max_length", 512).pad_to == 512
    assert parse_policy("data_max", 512, data_max=90).pad_to == 90
    assert parse_policy("buckets", 512, edges=(16, 32)).edges == (16, 32)
    assert parse_policy("buckets:32,16", 512).edges == (16, 32)
    with pytest.raises(BenchError, match="unknown padding policy"):
        parse_policy("pad:x", 512)
    with pytest.raises(BenchError, match="needs edges"):
        parse_policy("buckets", 512)
