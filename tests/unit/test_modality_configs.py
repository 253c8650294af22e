"""Vision, audio and multimodal configs: axes, static sizes, dummy inputs, list output (no export)."""

from __future__ import annotations

import numpy as np
import pytest

from shapeprof.commands.list import render, rows
from shapeprof.errors import ConfigError
from shapeprof.export.convert import dynamic_shapes_for
from shapeprof.export.plan import plan_export
from shapeprof.onnx.audio import frames_for, receptive_field
from shapeprof.onnx.builtin import default_registry
from shapeprof.testing.tiny import tiny_config

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


def _assert_valid_boxes(bbox, limit):
    x0, y0, x1, y1 = bbox[..., 0], bbox[..., 1], bbox[..., 2], bbox[..., 3]
    assert (x0 <= x1).all() and (y0 <= y1).all() and bbox.min() >= 0 and bbox.max() < limit
    assert (x0 < x1).any() and (y0 < y1).any()  # real boxes, not only degenerate points


@pytest.mark.parametrize("limit", [1024, 100])
def test_layoutlm_boxes_are_valid_within_the_configs_2d_positions(limit):
    layout = cfg("layoutlm", "token-classification", max_2d_position_embeddings=limit)
    bbox = layout.generate_dummy_inputs("np", batch_size=8, sequence_length=64, seed=3)["bbox"]
    assert bbox.shape == (8, 64, 4) and bbox.dtype == np.int64
    _assert_valid_boxes(bbox, limit)


def test_layoutlmv3_has_valid_boxes_and_a_static_page_image():
    v3 = cfg("layoutlmv3", "token-classification")
    feeds = v3.generate_dummy_inputs("np", batch_size=3, sequence_length=10)
    _assert_valid_boxes(feeds["bbox"], 1024)
    assert feeds["pixel_values"].shape == (3, 3, 32, 32)
    bounds = plan_export(v3).bounds
    assert bounds["height"] == bounds["width"] == (32, 32) and bounds["sequence_length"][0] == 1


VISION = ("vit", "deit", "beit", "convnext", "resnet", "swin", "dinov2", "mobilevit")
AUDIO = ("wav2vec2", "hubert", "wavlm")


@pytest.mark.parametrize("model_type", VISION)
def test_list_says_which_vision_axes_are_static_as_the_export_plans_them(model_type):
    row = next(r for r in rows() if r[0] == model_type)
    assert {"feature-extraction", "image-classification"} <= set(row[2])
    config = cfg(model_type, "image-classification")
    plan = plan_export(config)
    static = tuple(a for a in ("height", "width") if plan.bounds[a][0] == plan.bounds[a][1])
    assert row[3] == static
    dynamic_dims = set(dynamic_shapes_for(config, plan.bounds)[0])
    assert dynamic_dims == ({0} if static else {0, 2, 3})


def test_vision_dummy_inputs_follow_num_channels():
    gray = cfg("vit", num_channels=1)
    assert gray.generate_dummy_inputs("np")["pixel_values"].shape == (2, 1, 32, 32)
    assert cfg("resnet").generate_dummy_inputs("np", num_channels=3)["pixel_values"].dtype == np.float32


@pytest.mark.parametrize("model_type", AUDIO)
def test_audio_architectures_share_one_raw_waveform_input(model_type):
    for task in ("audio-classification", "automatic-speech-recognition"):
        config = cfg(model_type, task)
        assert config.inputs == {"input_values": {0: "batch_size", 1: "audio_sequence_length"}}
        assert config.outputs == {"logits": {0: "batch_size"}}
    hf = tiny_config(model_type)
    lo = config.axis_bounds()["audio_sequence_length"][0]
    assert frames_for(lo, tuple(hf.conv_kernel), tuple(hf.conv_stride)) == 2
    assert cfg(model_type).outputs == {"last_hidden_state": {0: "batch_size"}}


@pytest.mark.parametrize("model_type", ["clip", "siglip"])
def test_text_and_image_batches_default_to_the_seed_batch_size(model_type):
    config = cfg(model_type)
    feeds = config.generate_dummy_inputs("np")
    assert feeds["input_ids"].shape == (2, 16) and feeds["pixel_values"].shape == (2, 3, 32, 32)
    feeds = config.generate_dummy_inputs("np", batch_size=5, image_batch_size=3)
    assert feeds["input_ids"].shape[0] == 5 and feeds["pixel_values"].shape[0] == 3
    assert config.outputs["logits_per_image"] == {0: "image_batch_size", 1: "text_batch_size"}
    assert config.outputs["text_embeds"] == {0: "text_batch_size"}


def test_vision_task_outside_the_registration_is_rejected():
    with pytest.raises(ConfigError, match="supported tasks: feature-extraction, image-classification"):
        cfg("vit", "text-classification")


def test_list_shows_static_axes():
    table = {r[0]: r for r in rows()}
    assert table["vit"][3] == ("height", "width") and table["convnext"][3] == ()
    assert table["wav2vec2"][2] == ("feature-extraction", "audio-classification", "automatic-speech-recognition")
    assert table["vit"][4] == "image" and table["wav2vec2"][4] == "audio"
    text = render(rows())
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("vit "))
    block = [lines[at], *(line for line in lines[at + 1:at + 3] if line.startswith(" "))]
    assert block[-1].endswith("static: height,width")                # the axes are never split
    assert max(map(len, text.splitlines())) <= 100                  # readable in a 100-column terminal
    assert "--config auto" in text.splitlines()[-2] + text.splitlines()[-1]
    csv = render(rows(), "csv").splitlines()
    assert csv[0].endswith(",static_axes") and any(line.startswith("convnext,image,") and line.endswith(",")
                                                    for line in csv)


def test_list_filters_and_json():
    import json

    images = rows(modality="image")
    assert images and {r[4] for r in images} == {"image"}
    generative = {r[0] for r in rows(task="causal-lm-with-past")}          # synonyms accepted
    assert "gpt2" in generative and "bert" not in generative
    entries = json.loads(render(rows(task="fill-mask"), "json"))
    bert = next(e for e in entries if e["model_type"] == "bert")
    assert bert == {"model_type": "bert", "modality": "text", "config": "registered",
                    "config_class": "BertOnnxConfig", "tasks": list(bert["tasks"]), "static_axes": []}
    assert "fill-mask" in bert["tasks"]
