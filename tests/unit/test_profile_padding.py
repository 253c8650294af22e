"""Padding waste policies against direct computations on small data."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from shapeprof.profile.padding import InBatchPadding, fixed_padding, padding_report

LENGTHS = np.array([3, 9, 4, 4, 17, 2, 8])


def naive_in_batch(lengths, batch, multiple=1, cap=None):
    padded = 0
    for start in range(0, len(lengths), batch):
        part = lengths[start:start + batch]
        target = -(-part.max() // multiple) * multiple
        target = min(target, cap) if cap else target
        padded += int((target - part).sum())
    return padded


@pytest.mark.parametrize("batch", [1, 2, 3, 7, 10])
@pytest.mark.parametrize("multiple", [1, 8])
def test_in_batch_matches_naive(batch, multiple):
    acc = InBatchPadding(batch, multiple, cap=512)
    acc.add(LENGTHS)
    assert acc.finish() == (naive_in_batch(LENGTHS, batch, multiple), int(LENGTHS.sum()))


@pytest.mark.parametrize("chunk", [1, 2, 5])
def test_chunked_stream_equals_one_pass(chunk):
    rng = np.random.default_rng(1)
    lengths = rng.integers(2, 100, 503)
    whole, parts = InBatchPadding(8, 8, 100), InBatchPadding(8, 8, 100)
    whole.add(lengths)
    for start in range(0, len(lengths), chunk * 37):
        parts.add(lengths[start:start + chunk * 37])
    assert whole.finish() == parts.finish()


def test_multiple_of_8_is_capped_at_the_limit():
    acc = InBatchPadding(2, 8, cap=10)
    acc.add(np.array([9, 10]))
    assert acc.finish() == (1, 19)


def test_fixed_padding_cuts_long_rows():
    w = fixed_padding(Counter([100, 128, 200]), 128, "fixed")
    assert (w.padded_tokens, w.real_tokens, w.truncated_rows) == (28, 356, 1)
    assert w.label == "fixed (128)"


def test_report_has_every_policy():
    counts = Counter(LENGTHS.tolist())
    in_batch = [("longest", InBatchPadding(2)), ("multiple_of_8", InBatchPadding(2, 8, 512))]
    for _, acc in in_batch:
        acc.add(LENGTHS)
    report = padding_report(counts, in_batch, 512, bucket_padded=5)
    policies = [w.policy for w in report]
    assert policies == ["max_length", "fixed", "longest", "multiple_of_8", "buckets"]
    real = int(LENGTHS.sum())
    assert report[0].padded_tokens == 512 * len(LENGTHS) - real
    assert report[1].pad_to == 128 and report[-1].waste == pytest.approx(5 / real)
    assert report[2].padded_tokens == naive_in_batch(LENGTHS, 2)
