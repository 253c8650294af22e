"""Vision, audio and multimodal configs: axes, static sizes, dummy inputs, list output (no export)."""

from __future__ import annotations

import numpy as np
import pytest

from shapeprof.commands.list import render, rows
from shapeprof.errors import ConfigError
from shapeprof.export import dynamic_shapes_for, plan_export
from shapeprof.onnx.audio import frames_for, receptive_field
from shapeprof.registry import default_registry
from shapeprof.tiny import tiny_config

REGISTRY = default_registry()


def cfg(model_type, task="feature-extraction", **overrides):
    return REGISTRY.get(model_type)(tiny_config(model_type, **overrides), task=task)


def test_static_vision_axes_are_pinned_to_the_config_image_size():
    vit = cfg("vit", "image-classification", image_size=48)
    assert vit.inputs == {"pixel_values": {0: "batch_size", 2: "height", 3: "width"}}
    plan = plan_export(vit)
    assert plan.bounds["height"] == plan.bounds["width"] == (48, 48)
    assert plan.trace_shapes == {"batch_size": 2, "height": 48, "width": 48}
    assert [s["height"] for _, s in plan.verify_shapes] == [48, 48, 48]
    dims = dynamic_shapes_for(vit, plan.bounds)
    assert set(dims[0]) == {0}  # only the batch axis gets a torch Dim


def test_dynamic_vision_axes_are_verified_at_other_sizes():
    plan = plan_export(cfg("convnext", "image-classification"))
    assert plan.bounds["height"] == (32, None)
    sizes = {(s["height"], s["width"]) for _, s in plan.verify_shapes}
    assert (32, 32) in sizes and (48, 64) in sizes  # a non-square larger image
    assert set(dynamic_shapes_for(cfg("convnext"), plan.bounds)[0]) == {0, 2, 3}


def test_profile_bounds_make_a_dynamic_axis_static():
    config = cfg("resnet")
    plan = plan_export(config, {"height": 224, "width": 224}, {"height": (224, 224), "width": (224, 224)})
    assert set(dynamic_shapes_for(config, plan.bounds)[0]) == {0}


def test_vision_dummy_inputs_follow_config_then_seed_kwargs():
    vit = cfg("vit")
    assert tuple(vit.generate_dummy_inputs("np")["pixel_values"].shape) == (2, 3, 32, 32)
    convnext = cfg("convnext")
    shape = convnext.generate_dummy_inputs("np", batch_size=1, image_height=40, image_width=56)["pixel_values"].shape
    assert tuple(shape) == (1, 3, 40, 56)
    assert tuple(convnext.generate_dummy_inputs("np", height=64, width=48)["pixel_values"].shape) == (2, 3, 64, 48)


def test_audio_min_length_is_the_receptive_field_for_two_frames():
    w2v = cfg("wav2vec2", "automatic-speech-recognition")
    kernels, strides = (10, 3, 3), (5, 2, 2)
    lo = w2v.axis_bounds()["audio_sequence_length"][0]
    assert lo == receptive_field(kernels, strides, 2) and frames_for(lo, kernels, strides) == 2
    assert frames_for(lo - 1, kernels, strides) == 1
    wave = w2v.generate_dummy_inputs("np", batch_size=3, audio_sequence_length=400)["input_values"]
    assert wave.shape == (3, 400) and wave.dtype == np.float32 and np.abs(wave).max() <= 1.0
    assert w2v.outputs == {"logits": {0: "batch_size"}}


def test_clip_has_independent_text_and_image_batches():
    clip = cfg("clip", "zero-shot-image-classification")
    feeds = clip.generate_dummy_inputs("np", text_batch_size=4, image_batch_size=1, sequence_length=7)
    assert feeds["input_ids"].shape == (4, 7) and feeds["pixel_values"].shape == (1, 3, 32, 32)
    assert feeds["input_ids"].max() < 128
    assert clip.axis_bounds()["sequence_length"] == (1, 64)
    assert "attention_mask" not in cfg("siglip").inputs


def test_layoutlm_boxes_are_valid():
    layout = cfg("layoutlm", "token-classification")
    bbox = layout.generate_dummy_inputs("np", batch_size=8, sequence_length=64, seed=3)["bbox"]
    assert bbox.shape == (8, 64, 4)
    x0, y0, x1, y1 = bbox[..., 0], bbox[..., 1], bbox[..., 2], bbox[..., 3]
    assert (x0 <= x1).all() and (y0 <= y1).all() and bbox.min() >= 0 and bbox.max() < 1024


def test_vision_task_outside_the_registration_is_rejected():
    with pytest.raises(ConfigError, match="supported tasks: feature-extraction, image-classification"):
        cfg("vit", "text-classification")


def test_list_shows_static_axes():
    table = {r[0]: r for r in rows()}
    assert table["vit"][3] == ("height", "width") and table["convnext"][3] == ()
    assert table["wav2vec2"][2] == ("feature-extraction", "audio-classification", "automatic-speech-recognition")
    text = render(rows())
    vit_line = next(line for line in text.splitlines() if line.startswith("vit "))
    assert vit_line.endswith("height,width")
    csv = render(rows(), "csv").splitlines()
    assert csv[0].endswith(",static_axes") and any(line.startswith("convnext,") and line.endswith(",")
                                                    for line in csv)
