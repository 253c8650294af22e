"""The modality seam: one ``modality_of`` decision, one Profile protocol every profile implements."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pytest

from shapeprof.modality import modality_of, modality_of_inputs
from shapeprof.profile import ShapeProfile, profile_dataset
from shapeprof.profile.media import MediaProfile
from shapeprof.profile.protocol import Profile, load_profile
from shapeprof.profile.stats import axis_stats
from shapeprof.testing.tiny import tiny_config

PROTOCOL_MEMBERS = ("modality", "batch_sizes", "axes", "trace_shapes", "bounds", "static_axes",
                    "real_batches", "save", "load", "summary")


@pytest.mark.parametrize("model_type, modality", [
    ("bert", "text"), ("gpt2", "text"), ("layoutlmv3", "text"),   # LayoutLMv3 is text with boxes
    ("vit", "image"), ("convnext", "image"), ("wav2vec2", "audio"), ("clip", "text+image"),
])
def test_modality_of_a_tiny_config(model_type, modality):
    assert modality_of(tiny_config(model_type)) == modality


def test_modality_of_a_saved_model_an_export_and_a_config_class(tmp_path):
    from shapeprof.onnx.vision import VisionOnnxConfig

    tiny_config("wav2vec2").save_pretrained(tmp_path / "w2v")
    assert modality_of(tmp_path / "w2v") == modality_of(str(tmp_path / "w2v")) == "audio"
    assert modality_of(VisionOnnxConfig) == "image"
    assert modality_of(None) == "text" and modality_of(tmp_path / "missing") == "text"
    # an export whose model type nobody registered: its graph inputs decide
    export = SimpleNamespace(model_type="my-net", inputs={"pixel_values": {0: "batch_size"}})
    assert modality_of(export) == "image"
    export = SimpleNamespace(model_type="vit", inputs={"input_ids": {0: "batch_size"}})
    assert modality_of(export) == "image"                        # a registered type wins


@pytest.mark.parametrize("names, modality", [
    (["input_ids", "attention_mask"], "text"), (["pixel_values"], "image"),
    (["input_values", "attention_mask"], "audio"), (["input_ids", "pixel_values"], "text+image"),
    (["input_ids", "bbox", "pixel_values"], "text"), (["input_features"], "text"),
])
def test_modality_of_graph_inputs(names, modality):
    assert modality_of_inputs(names) == modality


def _media(modality: str, **sizes: list[int]) -> MediaProfile:
    axes = {a: axis_stats(a, Counter(v)) for a, v in sizes.items()}
    return MediaProfile(modality, {"description": "synthetic", "rows_sampled": 3, "samples_total": 3},
                        {"processor_class": "X", "name_or_path": "m"}, (1, 4), axes, {})


@pytest.fixture(scope="module")
def profiles(glue_dir) -> dict[str, Profile]:
    return {"text": profile_dataset(None, "glue", data_dir=glue_dir, rows=200, progress=False),
            "image": _media("image", height=[224, 224], width=[160, 224]),
            "audio": _media("audio", audio_sequence_length=[16000, 32000, 8000]),
            "text+image": _media("text+image", sequence_length=[5, 9, 12], height=[32] * 3, width=[32] * 3)}


@pytest.mark.parametrize("modality", ["text", "image", "audio", "text+image"])
def test_every_profile_satisfies_the_protocol(profiles, modality, tmp_path):
    profile = profiles[modality]
    assert isinstance(profile, Profile) and profile.modality == modality
    assert all(callable(getattr(type(profile), m, None)) or hasattr(profile, m) for m in PROTOCOL_MEMBERS)
    bounds, trace, static = profile.bounds(), profile.trace_shapes(), profile.static_axes()
    assert "batch_size" in bounds and set(profile.axes) <= set(trace)
    assert all(bounds.get(a, (n, n)) == (n, n) or a not in bounds for a, n in static.items())
    assert all(n >= 2 for a, n in trace.items() if a not in static)
    assert isinstance(profile.summary(), str) and isinstance(profile.real_batches(), list)
    back = load_profile(profile.save(tmp_path / "p.json"))
    assert type(back) is type(profile) and back.modality == modality
    assert back.to_dict() == profile.to_dict()
    assert type(profile).load(tmp_path / "p.json").modality == modality


def test_static_axes_are_pinned_and_varying_ones_open():
    image = _media("image", height=[224, 224], width=[160, 224])
    assert image.static_axes() == {"height": 224}
    assert image.bounds()["width"] == (160, 224)


def test_a_text_profile_names_its_static_axes_like_the_others(profiles):
    text = profiles["text"]
    assert isinstance(text, ShapeProfile) and text.static_axes() == text.static_shapes()
