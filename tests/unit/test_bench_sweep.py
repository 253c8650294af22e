"""Sweep design from constructed profiles and given lists; list syntax and grid errors."""

from __future__ import annotations

import numpy as np
import pytest

from shapeprof.bench.profile_view import ProfileView, profile_view
from shapeprof.bench.sweep import (DEFAULT_BATCH_SIZES, DEFAULT_LENGTHS, Cell, design_sweep,
                                   parse_int_list)
from shapeprof.errors import BenchError

COUNTS = {5: 10, 10: 40, 20: 30, 40: 15, 90: 5}     # 100 rows


def view(**kw) -> ProfileView:
    return ProfileView(counts=dict(COUNTS), **kw)


def test_parse_int_list():
    assert parse_int_list("1,8, 32") == (1, 8, 32)
    for bad in ("1,x", "", "1,,2", "1;8"):
        with pytest.raises(BenchError, match="comma-separated"):
            parse_int_list(bad, "--batch-sizes")
    with pytest.raises(BenchError, match="below 1"):
        parse_int_list("0,4")


def test_default_grid_without_profile_is_small_and_clipped():
    cells = design_sweep()
    assert cells == [Cell(b, n) for b in DEFAULT_BATCH_SIZES for n in DEFAULT_LENGTHS]
    assert {c.sequence_length for c in design_sweep(max_length=64)} == {16, 64}


def test_profile_grid_uses_quantiles_extremes_and_bucket_edges():
    v = view(edges=(10, 40, 90), batch_sizes=(1, 8))
    expected_lengths = {int(np.ceil(np.percentile(np.repeat(list(COUNTS), list(COUNTS.values())), q)))
                        for q in (50, 90, 99)} | {5, 90} | {10, 40, 90}
    cells = design_sweep(v, max_length=128)
    assert {c.batch_size for c in cells} == {1, 8}
    assert {c.sequence_length for c in cells} == expected_lengths
    assert cells == sorted(cells)


def test_profile_grid_adds_policy_lengths_and_computes_buckets_when_missing():
    cells = design_sweep(view(), max_length=512, extra_lengths=[128])
    lengths = {c.sequence_length for c in cells}
    assert 128 in lengths and 90 in lengths
    assert {c.batch_size for c in cells} == {1, 32}          # no batch sizes in the profile


def test_given_lists_override_the_profile():
    cells = design_sweep(view(), batch_sizes=[4], sequence_lengths=[16, 8, 16])
    assert cells == [Cell(4, 8), Cell(4, 16)]


def test_empty_grid_and_lengths_over_the_limit_are_errors():
    with pytest.raises(BenchError, match="sweep is empty"):
        design_sweep(batch_sizes=[])
    with pytest.raises(BenchError, match="sweep is empty"):
        design_sweep(sequence_lengths=[])
    with pytest.raises(BenchError, match="exceeds the model's limit of 64"):
        design_sweep(sequence_lengths=[16, 128], max_length=64)


def test_profile_view_reads_saved_profile_json_and_shapeprofile_like_objects():
    data = {"model": {"model_type": "bert", "tokenizer_class": "BertTokenizer", "max_length": 512},
            "batch_sizes": [1, 8], "length_counts": {str(k): v for k, v in COUNTS.items()},
            "buckets": {"edges": [10, 40, 90]}, "dataset": {"name": "glue/sst2", "kind": "files"}}
    v = profile_view(data)
    assert v.counts == COUNTS and v.edges == (10, 40, 90) and v.batch_sizes == (1, 8)
    assert (v.model_type, v.tokenizer_class, v.max_length) == ("bert", "BertTokenizer", 512)
    assert v.rows == 100 and v.quantile(50) == 15.0          # numpy: between rank 49 (10) and 50 (20)

    class Fake:
        model = type("M", (), {"model_type": "bert", "tokenizer_class": "X", "max_length": 64,
                               "name_or_path": "p"})()
        batch_sizes = (2,)
        buckets = type("B", (), {"edges": [20, 90]})()

        def length_counts(self):
            return dict(COUNTS)

    v = profile_view(Fake())
    assert v.edges == (20, 90) and v.batch_sizes == (2,) and v.tokenizer_class == "X"


def test_profile_without_histogram_is_an_error():
    with pytest.raises(BenchError, match="no sequence-length histogram"):
        profile_view({"model": {}})
