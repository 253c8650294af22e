"""Profiling text-and-image pairs (captions + photographs) for CLIP and SigLIP.

Tiny CLIP/SigLIP models get MiniLM's real tokenizer and a ViT image processor (resize to
32x32); the pairs are scikit-image's photographs with captions the tests write, as a csv, an
``imagefolder`` with ``metadata.csv`` and an in-memory ``datasets.Dataset``.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import skimage.data as skimage_data
from shapeprof.errors import DataError, ExportError
from shapeprof.profile import profile_dataset
from shapeprof.profile.media import MediaProfile
from shapeprof.export.profiled import export_with_profile
from shapeprof.testing.tiny import tiny_model

IMAGES = sorted(p for p in Path(skimage_data.__file__).parent.iterdir() if p.suffix in (".png", ".jpg"))[:5]
CAPTIONS = ["a photo", "a grey photograph of a cameraman with a tripod",
            "coins", "a cat " * 40, "rocket on the launch pad"]   # the 4th is beyond 64 tokens


@pytest.fixture(scope="module")
def models(tmp_path_factory, minilm_dir):
    from transformers import AutoTokenizer, ViTImageProcessor

    tmp = tmp_path_factory.mktemp("pairs-models")
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    out = {}
    for name in ("clip", "siglip"):
        tiny_model(name, "feature-extraction").save_pretrained(tmp / name)
        tokenizer.save_pretrained(tmp / name)
        ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(tmp / name)
        out[name] = tmp / name
    out["tokenizer"] = tokenizer
    return out


@pytest.fixture(scope="module")
def captions_csv(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pairs-csv")
    (folder / "img").mkdir()
    with open(folder / "pairs.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image", "caption"])
        for path, caption in zip(IMAGES, CAPTIONS):
            shutil.copy(path, folder / "img" / path.name)
            writer.writerow([f"img/{path.name}", caption])  # relative to the csv's folder
    return folder / "pairs.csv"


def _token_lengths(tokenizer, limit: int = 64) -> list[int]:
    return [min(len(tokenizer(c)["input_ids"]), limit) for c in CAPTIONS]


def test_clip_pairs_from_a_csv_give_caption_lengths_and_static_image_sides(models, captions_csv, tmp_path):
    profile = profile_dataset(models["clip"], str(captions_csv), progress=False)
    assert isinstance(profile, MediaProfile) and profile.modality == "text+image"
    lengths = _token_lengths(models["tokenizer"])
    seq = profile.axes["sequence_length"]
    assert (seq.min, seq.max, seq.rows) == (min(lengths), 64, len(CAPTIONS))
    assert seq.truncated_rows == 1 and seq.natural_max > 64
    assert profile.static_axes() == {"height": 32, "width": 32}
    assert profile.source_axes["source_height"].varies  # the photographs differ
    assert profile.dataset["text_column"] == "caption" and profile.dataset["image_column"] == "image"
    assert profile.model["tokenizer_class"] == type(models["tokenizer"]).__name__
    saved = MediaProfile.load(profile.save(tmp_path / "pairs.json"))
    assert saved.axes == profile.axes and saved.modality == "text+image"
    assert "text+image profile" in profile.summary() and "sequence_length (model input)" in profile.summary()


def test_an_imagefolder_with_captions_and_an_in_memory_dataset(models, captions_csv, tmp_path):
    import datasets

    folder = tmp_path / "folder"
    folder.mkdir()
    with open(folder / "metadata.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file_name", "text"])
        for path, caption in zip(IMAGES, CAPTIONS):
            shutil.copy(path, folder / path.name)
            writer.writerow([path.name, caption])
    from_folder = profile_dataset(models["siglip"], str(folder), progress=False)
    assert from_folder.axes["sequence_length"].rows == len(IMAGES)
    from_csv = profile_dataset(models["clip"], str(captions_csv), progress=False)
    assert from_folder.axes["sequence_length"] == from_csv.axes["sequence_length"]  # same captions

    ds = datasets.Dataset.from_dict({"img": [str(p) for p in IMAGES], "words": CAPTIONS})
    ds = ds.cast_column("img", datasets.Image())
    from shapeprof.profile.pairs import profile_text_image

    sampled = profile_text_image(models["clip"], ds, rows=3, seed=1, progress=False)
    assert sampled.dataset["rows_sampled"] == 3 and sampled.dataset["text_column"] == "words"
    assert sampled.uncertainty.sampled and "sequence_length" in sampled.uncertainty.percentiles
    assert from_csv.uncertainty.status == "exact"        # every pair profiled


def test_profile_cli_on_pairs_and_clear_errors(models, captions_csv, tmp_path):
    out = tmp_path / "p.json"
    proc = subprocess.run([sys.executable, "-m", "shapeprof", "profile", "--model", str(models["clip"]),
                           "--dataset", str(captions_csv), "--quiet", "-o", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "static axes: height=32, width=32" in proc.stdout and MediaProfile.load(out).modality == "text+image"

    with pytest.raises(DataError, match="no column 'nope'"):
        profile_dataset(models["clip"], str(captions_csv), text_columns="nope", progress=False)
    no_images = tmp_path / "texts.csv"
    no_images.write_text("a,b\nx,y\n")
    with pytest.raises(DataError, match="no image column"):
        profile_dataset(models["clip"], str(no_images), progress=False)
    with pytest.raises(ExportError, match="export it without --dataset"):
        export_with_profile(tmp_path / "x", models["clip"], str(captions_csv), progress=False)
