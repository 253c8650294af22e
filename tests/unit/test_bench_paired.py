"""Speedups paired by round: drift between rounds cancels, the interval says how sure we are."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shapeprof.bench.paired import PairedSpeedup, paired_speedup, round_medians
from shapeprof.bench.report import verdict_lines
from shapeprof.bench.results import BenchResults, CellResult


def test_round_medians_split_samples_by_round():
    assert round_medians([1, 2, 3, 10, 30], [3, 2]).tolist() == [2.0, 20.0]
    assert round_medians([1, 2, 3], []) is None               # results from before rounds were kept
    assert round_medians([1, 2, 3], [2, 2]) is None            # sizes that do not add up
    assert round_medians([1, 2, 3], [3, 0]) is None


def test_drift_between_rounds_cancels_in_the_pairs():
    drift = np.array([60.0, 95.0, 70.0, 120.0, 80.0])        # the machine's speed, round by round
    got = paired_speedup(1.1 * drift, drift)
    assert got.ratio == pytest.approx(1.1)
    assert got.low == pytest.approx(1.1) and got.high == pytest.approx(1.1)
    assert got.verdict == "faster" and got.rounds == 5
    # the unpaired ratio of medians would see the same data as a tie only by luck of the draw
    assert paired_speedup(drift, 1.1 * drift).verdict == "slower"


def test_noisy_pairs_give_an_interval_around_one():
    noise = np.array([0.03, -0.05, 0.01, 0.04, -0.02, -0.03, 0.05, -0.01])
    got = paired_speedup(100 * np.exp(noise), np.full(8, 100.0))
    assert got.low < 1.0 < got.high and got.low < got.ratio < got.high
    assert got.verdict == "tie"


def test_one_round_has_no_interval():
    got = paired_speedup(np.array([2.0]), np.array([1.0]))
    assert got.ratio == 2.0 and math.isnan(got.low) and got.verdict == "tie"
    with pytest.raises(ValueError, match="same number of rounds"):
        paired_speedup(np.array([1.0, 2.0]), np.array([1.0]))


def _results(sizes: tuple[int, ...]) -> BenchResults:
    # PyTorch 1.2x slower than onnxruntime in every round; the rounds drift 2x apart
    ort = (10.0, 10.0, 20.0, 20.0)
    torch = tuple(1.2 * x for x in ort)
    cells = (CellResult("onnx", "onnxruntime", 1, 8, "data", ort, rounds=2, round_sizes=sizes),
             CellResult("pytorch", "pytorch", 1, 8, "data", torch, rounds=2, round_sizes=sizes))
    return BenchResults({}, {}, {"versions": {}}, cells=cells)


def test_dataframe_pairs_by_round_and_reports_the_interval():
    row = _results((2, 2)).to_dataframe().iloc[0]
    assert row.speedup_vs_pytorch == pytest.approx(1.2)
    assert row.speedup_vs_pytorch_low == pytest.approx(1.2)
    assert row.speedup_vs_pytorch_high == pytest.approx(1.2)


def test_results_without_rounds_fall_back_to_the_median_ratio():
    row = _results(()).to_dataframe().iloc[0]
    assert row.speedup_vs_pytorch == pytest.approx(1.2)
    assert math.isnan(row.speedup_vs_pytorch_low)


def test_round_sizes_survive_json_and_give_the_verdict():
    res = _results((2, 2))
    assert BenchResults.from_dict(res.to_dict()) == res
    assert verdict_lines(res) == ["onnx vs PyTorch, paired by round (95% interval): faster in 1 cells, "
                                  "within noise in 0, slower in 0"]
    slower = BenchResults({}, {}, {}, cells=tuple(reversed(_swap(res.cells))))
    assert verdict_lines(slower)[0].endswith("slower in 1 (1x8)")


def _swap(cells: tuple[CellResult, ...]) -> tuple[CellResult, ...]:
    """The same cells with the two runtimes' samples exchanged."""
    a, b = cells
    return (CellResult(a.variant, a.runtime, 1, 8, "data", b.samples_ms, rounds=2, round_sizes=b.round_sizes),
            CellResult(b.variant, b.runtime, 1, 8, "data", a.samples_ms, rounds=2, round_sizes=a.round_sizes))


def test_verdict_is_one_sided():
    assert PairedSpeedup(0.9, 0.85, 0.95, 5).verdict == "slower"
    assert PairedSpeedup(1.0, 0.95, 1.05, 5).verdict == "tie"
