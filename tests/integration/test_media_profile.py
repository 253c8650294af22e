"""Profiling images and audio through the model's own preprocessor, and the export it drives.

Images: the real photographs that ship inside scikit-image (``skimage/data``), and
scikit-learn's sample images when it is installed. Audio: wav files the tests write (tones
of several durations and sampling rates).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import save_media_models, save_tiny, write_tone

from shapeprof.errors import DataError, ExportError, ProfileError
from shapeprof.export import export
from shapeprof.profile import profile_dataset
from shapeprof.profile.media import MediaProfile, profile_media
from shapeprof.export.profiled import export_with_profile
from shapeprof.testing.tiny import tiny_model

import skimage.data as skimage_data  # scikit-image is in the test extra: real photographs
IMAGES = sorted(p for p in Path(skimage_data.__file__).parent.iterdir()
                if p.suffix in (".png", ".jpg"))[:10]
CLIPS = [(0.5, 16000), (1.25, 16000), (2.0, 8000), (0.8, 22050)]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return save_media_models(tmp_path_factory.mktemp("media-models"))


@pytest.fixture(scope="module")
def wav_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wavs")
    for i, (seconds, rate) in enumerate(CLIPS):
        write_tone(folder / f"clip{i}.wav", seconds, rate, 440)
    return folder


def test_resizing_processor_gives_constant_sizes_and_a_static_export(models, tmp_path):
    profile = profile_dataset(models["vit"], "images", data_files=IMAGES, progress=False)
    assert isinstance(profile, MediaProfile) and profile.dataset["rows_sampled"] == len(IMAGES)
    assert profile.static_axes() == {"height": 32, "width": 32}
    assert profile.source_axes["source_height"].varies  # the photographs themselves differ

    result = export_with_profile(tmp_path / "vit", models["vit"], "images",
                                 profile_options={"data_files": IMAGES}, progress=False).export
    info = json.loads((result.output_dir / "shapeprof_export.json").read_text())
    assert info["dynamic_bounds"]["height"] == [32, 32] and info["profile"]["static_axes"]["width"] == 32
    assert any(c.source == "data" for c in result.verification.checks)
    assert {"profile.json", "preprocessor_config.json"} <= {p.name for p in result.output_dir.iterdir()}


def test_resizing_to_224_makes_a_dynamic_architecture_static(tmp_path):
    """ConvNeXt could take any size; a processor that resizes everything to 224 pins it there."""
    import onnx
    from transformers import ViTImageProcessor

    model = save_tiny(tmp_path / "cn224", "convnext", "image-classification", ViTImageProcessor())
    result = export_with_profile(tmp_path / "out", model, "images", profile_options={"data_files": IMAGES[:4]},
                                 progress=False)
    assert result.profile.static_axes() == {"height": 224, "width": 224}
    assert result.export.plan.bounds["height"] == result.export.plan.bounds["width"] == (224, 224)
    graph = onnx.load(str(tmp_path / "out" / "model.onnx"), load_external_data=False).graph
    dims = [d.dim_value or d.dim_param for d in graph.input[0].type.tensor_type.shape.dim]
    assert isinstance(dims[0], str) and dims[1:] == [3, 224, 224]


def test_size_keeping_processor_gives_varying_sizes_and_a_dynamic_export(models, tmp_path):
    profile = profile_media(models["convnext"], IMAGES[0].parent, "image", data_files=IMAGES, progress=False)
    heights = sorted({__import__("PIL.Image").Image.open(p).height for p in IMAGES})
    assert profile.axes["height"].varies and profile.axes["height"].min == heights[0]
    assert profile.axes["height"].max == heights[-1]
    saved = MediaProfile.load(profile.save(tmp_path / "p.json"))
    assert saved.axes == profile.axes and saved.static_axes() == {}

    result = export_with_profile(tmp_path / "cn", models["convnext"], "images", dynamic_range="data",
                                 profile_options={"data_files": IMAGES, "batch_sizes": (1, 4)},
                                 progress=False).export
    assert result.plan.bounds["height"] == (heights[0], heights[-1])
    assert result.plan.bounds["batch_size"] == (1, 4)
    data_checks = [c for c in result.verification.checks if c.source == "data"]
    assert data_checks and all(c.passed for c in data_checks)


def test_scikit_learn_sample_images_of_one_size_are_constant_without_resizing(models):
    """scikit-learn ships two 427x640 photographs (china.jpg, flower.jpg); skipped when not installed."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")  # the files only: importing sklearn is slow
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-learn is not installed")
    photos = sorted((Path(spec.submodule_search_locations[0]) / "datasets" / "images").glob("*.jpg"))
    profile = profile_media(models["convnext"], photos[0].parent, "image", progress=False)
    assert profile.dataset["rows_sampled"] == len(photos) >= 2
    assert profile.static_axes() == {"height": 427, "width": 640}


def test_audio_durations_through_the_feature_extractor(models, wav_dir, tmp_path):
    profile = profile_dataset(models["w2v"], str(wav_dir), progress=False)
    lengths = sorted(int(s * 16000) for s, _ in CLIPS)  # resampled to the extractor's 16 kHz
    assert profile.axes["audio_sequence_length"].min == lengths[0]
    assert profile.axes["audio_sequence_length"].max == lengths[-1]
    assert profile.source_axes["duration_ms"].max == 2000

    result = export_with_profile(tmp_path / "w2v", models["w2v"], str(wav_dir), dynamic_range="data",
                                 progress=False).export
    assert result.task == "audio-classification"
    assert result.plan.bounds["audio_sequence_length"] == (lengths[0], lengths[-1])
    assert sum(c.source == "data" for c in result.verification.checks) == len(CLIPS)


def test_hugging_face_dataset_with_an_image_column(models):
    import datasets

    ds = datasets.Dataset.from_dict({"img": [str(p) for p in IMAGES[:4]], "label": [0, 1, 2, 3]})
    profile = profile_media(models["convnext"], ds.cast_column("img", datasets.Image()), "image",
                            rows=3, seed=1, progress=False)
    assert profile.dataset["rows_sampled"] == 3 and "column 'img'" in profile.dataset["description"]
    sure = profile.uncertainty                      # 3 of 4 images: a sample, with intervals
    assert sure.sampled and (sure.rows, sure.population) == (3, 4)
    assert set(sure.percentiles) == {*profile.axes, *profile.source_axes}
    assert sure.percentile("source_height", "p50").contains(profile.source_axes["source_height"].p(50))
    assert "how sure: a sample of 3 of 4" in profile.summary()
    assert MediaProfile.from_dict(profile.to_dict()).uncertainty == sure
    with pytest.raises(DataError, match="no Image column"):
        profile_media(models["convnext"], ds, "image", progress=False)


def test_clear_errors(models, tmp_path):
    with pytest.raises(DataError, match="no image files"):
        profile_media(models["vit"], tmp_path, "image", progress=False)
    with pytest.raises(ProfileError, match="preprocessor_config.json"):
        bare = tmp_path / "bare"
        tiny_model("vit").save_pretrained(bare)
        profile_media(bare, IMAGES[0].parent, "image", data_files=IMAGES[:1], progress=False)
    with pytest.raises(ExportError, match="text_columns apply to text datasets"):
        export_with_profile(tmp_path / "x", models["vit"], "images",
                            profile_options={"data_files": IMAGES[:2], "text_columns": "caption"},
                            progress=False)


def test_an_axis_the_model_code_freezes_is_reported(tmp_path):
    """DINOv2 skips interpolation at its native square size; tracing there freezes height/width."""
    with pytest.raises(ExportError, match="torch.export fixed axis 'height'"):
        export(tiny_model("dinov2"), tmp_path / "out", task="feature-extraction",
               trace_shapes={"height": 32, "width": 32})
