"""Recommended trace shapes, ranges and the TensorRT / ORT-TensorRT syntax."""

from __future__ import annotations

from collections import Counter

import pytest

from shapeprof.errors import ProfileError
from shapeprof.profile.recommend import recommend
from shapeprof.profile.stats import axis_stats


def seq(lengths):
    return axis_stats("sequence_length", Counter(lengths))


def test_ranges_and_trace_shapes():
    rec = recommend(seq([5, 7, 9, 9, 12, 40]), (1, 8, 32), 512)
    assert rec.trace == {"batch_size": 8, "sequence_length": 9}
    assert rec.ranges["sequence_length"].to_dict() == {"min": 5, "opt": 9, "max": 40}
    assert rec.ranges["batch_size"].to_dict() == {"min": 1, "opt": 8, "max": 32}


@pytest.mark.parametrize("lengths,batches", [([1, 1, 2], (1,)), ([2, 3], (1, 2)), ([1, 30], (1, 1)),
                                             ([8, 8, 8, 9], (8,))])
def test_trace_shapes_are_never_0_or_1_and_differ(lengths, batches):
    rec = recommend(seq(lengths), batches, 512)
    assert rec.trace["batch_size"] >= 2 and rec.trace["sequence_length"] >= 2
    assert rec.trace["batch_size"] != rec.trace["sequence_length"]
    r = rec.ranges["sequence_length"]
    assert r.min <= rec.trace["sequence_length"] <= r.max or r.max < 2


def test_max_is_clipped_to_model_limit_and_p99_option():
    lengths = list(range(10, 110)) + [300]
    assert recommend(seq(lengths), (1,), 128).ranges["sequence_length"].max == 128
    p99 = recommend(seq(lengths), (1,), 512, max_policy="p99").ranges["sequence_length"].max
    assert p99 == 109
    with pytest.raises(ProfileError):
        recommend(seq(lengths), (1,), 512, max_policy="p42")


def test_constant_axis_is_static():
    rec = recommend(seq([16] * 10), (1, 4), 512)
    assert "sequence_length" not in rec.ranges and rec.static == {"sequence_length": 16}
    assert rec.shape_strings(["input_ids"])["max"] == "input_ids:4x16"


def test_trtexec_and_ort_syntax():
    rec = recommend(seq([5, 20, 20, 60]), (1, 8, 32), 512)
    names = ["input_ids", "attention_mask"]
    assert rec.trtexec_args(names) == (
        "--minShapes=input_ids:1x5,attention_mask:1x5 "
        "--optShapes=input_ids:8x20,attention_mask:8x20 "
        "--maxShapes=input_ids:32x60,attention_mask:32x60")
    assert rec.ort_trt_options(names) == {
        "trt_profile_min_shapes": "input_ids:1x5,attention_mask:1x5",
        "trt_profile_opt_shapes": "input_ids:8x20,attention_mask:8x20",
        "trt_profile_max_shapes": "input_ids:32x60,attention_mask:32x60"}


def test_onnx_config_style_inputs_and_unknown_axis():
    rec = recommend(seq([5, 20]), (1, 8), 512)
    inputs = {"input_ids": {0: "batch_size", 1: "sequence_length"}, "pixel_mask": ["batch_size", 3]}
    assert rec.shape_strings(inputs)["opt"] == "input_ids:8x13,pixel_mask:8x3"  # p50 12.5 rounds up
    with pytest.raises(ProfileError, match="num_choices"):
        rec.shape_strings({"x": {0: "batch_size", 1: "num_choices"}})
