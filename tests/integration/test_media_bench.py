"""``shapeprof bench`` on exported image and audio models: tiny sweeps, no timing asserts.

Images: scikit-image's real photographs (``skimage/data``), and small crops of them in
several sizes for a model that keeps sizes. Audio: wav files the tests write.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import skimage.data as skimage_data  # real photographs shipped in the test extra
from support import save_media_models, save_tiny, write_tone
from shapeprof.bench import BenchOptions, BenchResults
from shapeprof.bench.media import run_media_benchmark
from shapeprof.bench.media_sweep import parse_image_sizes
from shapeprof.errors import BenchError
from shapeprof.export import export
from shapeprof.profile import profile_dataset
from shapeprof.export.profiled import export_with_profile

IMAGES = sorted(p for p in Path(skimage_data.__file__).parent.iterdir() if p.suffix in (".png", ".jpg"))[:6]
CROPS = [(40, 56), (48, 48), (56, 40), (64, 72)]          # (height, width) of generated crops
CLIPS = [(0.1, 16000), (0.2, 16000), (0.3, 8000)]        # (seconds, sampling rate)
QUIET = dict(warmup=1, min_samples=2, min_time_s=0.0, rounds=1, intra_op_threads=1)
FAST = dict(QUIET, progress=False)
CLI_FAST = ["--warmup", "1", "--min-samples", "2", "--min-time", "0", "--rounds", "1", "--threads", "1",
            "--no-progress"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("media-bench")
    sources = save_media_models(tmp / "src")
    for name, source in sources.items():
        export(source, tmp / name)
    return {name: tmp / name for name in sources}


@pytest.fixture(scope="module")
def crops(tmp_path_factory) -> Path:
    from PIL import Image

    folder = tmp_path_factory.mktemp("crops")
    photo = Image.open(IMAGES[0]).convert("RGB")
    for h, w in CROPS:
        photo.crop((0, 0, w, h)).save(folder / f"crop_{h}x{w}.png")
    return folder


@pytest.fixture(scope="module")
def wav_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wavs")
    for i, (seconds, rate) in enumerate(CLIPS):
        write_tone(folder / f"clip{i}.wav", seconds, rate, 330 * (i + 1))
    return folder


def _shapes(results: BenchResults) -> list[list[int]]:
    return results.settings["cells"]


def test_static_image_model_sweeps_batch_sizes_at_its_fixed_size(exported):
    results = run_media_benchmark(exported["vit"], options=BenchOptions(batch_sizes=(1, 3), **FAST))
    assert _shapes(results) == [[1, 32, 32], [3, 32, 32]]
    assert results.settings["modality"] == "image" and results.settings["input_source"] == "random"
    assert {(c.variant, c.batch_size, c.sequence_length) for c in results.cells} == {
        (v, b, 32 * 32) for v in ("onnx", "pytorch") for b in (1, 3)}
    assert results.variants[0].reference == "pytorch" and results.variants[0].within_tolerance
    assert "| onnx | 3x32x32 | random |" in results.summary() and "images/s" in results.summary()
    with pytest.raises(BenchError, match="height 48 is outside the export's range: height is static at 32"):
        run_media_benchmark(exported["vit"], options=BenchOptions(image_sizes=[(48, 48)], **FAST))


def test_image_profile_gives_real_pixels_and_the_profiles_batch_sizes(exported, tmp_path):
    profile = profile_dataset(exported["vit"], "images", data_files=IMAGES, batch_sizes=(1, 2), progress=False)
    path = profile.save(tmp_path / "profile.json")
    results = run_media_benchmark(exported["vit"], path, BenchOptions(pytorch=False, **FAST))
    assert _shapes(results) == [[1, 32, 32], [2, 32, 32]]
    assert results.settings["input_source"] == "data" and {c.input_source for c in results.cells} == {"data"}
    assert results.settings["profile"]["static_axes"] == {"height": 32, "width": 32}
    saved = BenchResults.load(results.save(tmp_path / "bench.json"))
    assert saved.to_dict()["cells"] == results.to_dict()["cells"]


def test_dynamic_image_sizes_come_from_the_profile(exported, crops):
    profile = profile_dataset(exported["convnext"], str(crops), batch_sizes=(2,), progress=False)
    assert profile.axes["height"].varies
    results = run_media_benchmark(exported["convnext"], profile, BenchOptions(pytorch=False, **FAST))
    sizes = {tuple(s[1:]) for s in _shapes(results)}
    assert (40, 40) in sizes and (64, 72) in sizes  # the smallest and largest crop edges
    assert {s[0] for s in _shapes(results)} == {2} and results.settings["input_source"] == "data"
    explicit = run_media_benchmark(exported["convnext"], options=BenchOptions(
        batch_sizes=(1,), image_sizes=parse_image_sizes("36x44,64"), pytorch=False, **FAST), data=str(crops))
    assert _shapes(explicit) == [[1, 36, 44], [1, 64, 64]] and explicit.settings["input_source"] == "data"


def test_audio_sweeps_batch_by_the_profiles_lengths_through_the_cli(exported, wav_dir, tmp_path):
    profile = profile_dataset(exported["w2v"], str(wav_dir), batch_sizes=(1, 2), progress=False)
    path = profile.save(tmp_path / "audio-profile.json")
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "shapeprof", "bench", str(exported["w2v"]), "--profile",
                           str(path), "-o", str(out), *CLI_FAST], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = BenchResults.load(out)
    lengths = sorted({s[1] for s in _shapes(results)})
    assert lengths[0] == 1600 and lengths[-1] == 4800  # 0.1 s and 0.3 s at 16 kHz (0.3 s resampled)
    assert {s[0] for s in _shapes(results)} == {1, 2} and results.settings["input_source"] == "data"
    assert {c.runtime for c in results.cells} == {"onnxruntime", "pytorch"}
    assert "| onnx | 2x4800 | data |" in proc.stdout and "clips/s" in proc.stdout


def test_audio_without_a_profile_uses_dummy_clips_at_given_lengths(exported):
    results = run_media_benchmark(exported["w2v"], options=BenchOptions(batch_sizes=(2,), sequence_lengths=(800, 1200),
                                                                  pytorch=False, **FAST))
    assert _shapes(results) == [[2, 800], [2, 1200]] and results.settings["input_source"] == "random"
    with pytest.raises(BenchError, match="audio_sequence_length 10 is outside"):
        run_media_benchmark(exported["w2v"], options=BenchOptions(sequence_lengths=(10,), **FAST))


def test_text_only_options_and_mismatched_profiles_are_refused(exported, wav_dir, tmp_path):
    audio = profile_dataset(exported["w2v"], str(wav_dir), progress=False).save(tmp_path / "a.json")
    with pytest.raises(BenchError, match="describes audio data but .* is an image model"):
        run_media_benchmark(exported["vit"], audio, BenchOptions(**FAST))
    proc = subprocess.run([sys.executable, "-m", "shapeprof", "bench", str(exported["vit"]), "--replay", "8",
                           *CLI_FAST], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2 and "--replay apply to text models" in proc.stderr


def test_export_with_an_image_dataset_and_bench(tmp_path):
    from transformers import ViTImageProcessor

    source = save_tiny(tmp_path / "vit-src", "vit", "image-classification",
                       ViTImageProcessor(size={"height": 32, "width": 32}))
    done = export_with_profile(tmp_path / "out", source, "images", bench=True,
                               profile_options={"data_files": IMAGES, "batch_sizes": (1, 2)},
                               bench_options={"variants": ("onnx", "optimized"), **QUIET}, progress=False)
    assert done.bench is not None and [v.name for v in done.bench.variants] == ["onnx"]
    assert any("optimized skipped" in n for n in done.bench.notes)
    assert {"bench.json", "bench.csv", "bench.md", "profile.json"} <= {p.name for p in (tmp_path / "out").iterdir()}
    saved = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert saved["settings"]["cells"] == [[1, 32, 32], [2, 32, 32]] and saved["settings"]["input_source"] == "data"
