"""Image/audio benchmark helpers: cells, size parsing, sizes from a profile, fitting samples."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from shapeprof.bench.media_inputs import dummy_audio, dummy_images, fit_audio, fit_image
from shapeprof.bench.media_sweep import MediaCell, check_sizes, parse_image_sizes, profile_sizes
from shapeprof.errors import BenchError
from shapeprof.profile.media import MediaProfile
from shapeprof.profile.stats import axis_stats


def _profile(modality: str, **sizes: list[int]) -> MediaProfile:
    axes = {a: axis_stats(a, Counter(v)) for a, v in sizes.items()}
    return MediaProfile(modality, {"description": "synthetic"}, {"processor_class": "X"}, (1, 4), axes, {})


def test_a_cell_measures_elements_per_sample_and_labels_its_full_shape():
    image, clip = MediaCell(4, (224, 160)), MediaCell(2, (16000,))
    assert (image.sequence_length, image.tokens, image.label) == (224 * 160, 4 * 224 * 160, "4x224x160")
    assert (clip.sequence_length, clip.label) == (16000, "2x16000")
    assert sorted([MediaCell(2, (8,)), MediaCell(1, (16,)), MediaCell(1, (8,))])[0] == MediaCell(1, (8,))


def test_image_sizes_parse_and_bad_ones_are_one_line_errors():
    assert parse_image_sizes("224x224, 384X320,96") == ((224, 224), (384, 320), (96, 96))
    for bad in ("224xa", "0x10", ","):
        with pytest.raises(BenchError, match="--image-sizes"):
            parse_image_sizes(bad)


def test_profile_sizes_constant_or_quantiles_and_extremes():
    assert profile_sizes(_profile("image", height=[224] * 5, width=[224] * 5), "image") == [(224, 224)]
    lengths = list(range(1000, 11000, 1000))
    sizes = profile_sizes(_profile("audio", audio_sequence_length=lengths), "audio")
    assert sizes[0] == (1000,) and sizes[-1] == (10000,) and (5500,) in sizes  # p50 of 1000..10000
    assert len(sizes) == len(set(sizes)) >= 4


def test_sizes_outside_the_exported_range_are_refused():
    bounds = {"height": (32, 32), "width": (32, 32), "batch_size": (1, 4)}
    check_sizes("image", [(32, 32)], [1, 4], bounds)
    with pytest.raises(BenchError, match="height 48 .* static at 32"):
        check_sizes("image", [(48, 48)], [1], bounds)
    with pytest.raises(BenchError, match="batch_size 8 .* runs 1..4"):
        check_sizes("image", [(32, 32)], [8], bounds)
    with pytest.raises(BenchError, match="does not match the axes"):
        check_sizes("audio", [(32, 32)], [1], {})


def test_samples_are_fitted_to_the_cells_size():
    wave = np.arange(10, dtype=np.float32)
    assert fit_audio(wave, 4).tolist() == [3, 4, 5, 6]          # the middle
    assert fit_audio(wave, 12).tolist() == list(range(10)) + [0, 0]
    pixels = np.arange(2 * 4 * 6, dtype=np.float32).reshape(2, 4, 6)
    assert fit_image(pixels, 4, 6) is pixels
    small = fit_image(pixels, 2, 3)
    assert small.shape == (2, 2, 3) and small[0, 1, 1] == pixels[0, 2, 2]
    assert fit_image(pixels, 8, 12).shape == (2, 8, 12)


def test_dummy_media_is_seeded_and_in_range():
    rng = lambda: np.random.default_rng(7)  # noqa: E731
    images = dummy_images(rng(), MediaCell(2, (5, 6)), channels=1)
    assert images.shape == (2, 1, 5, 6) and images.dtype == np.float32 and np.abs(images).max() <= 1
    clips = dummy_audio(rng(), MediaCell(3, (800,)))
    assert clips.shape == (3, 800) and np.abs(clips).max() <= 1 and clips.std() > 0.1
    assert np.array_equal(clips, dummy_audio(rng(), MediaCell(3, (800,))))
