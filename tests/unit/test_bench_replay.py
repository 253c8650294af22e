"""Replay planning and scoring, and the latency model's exact extra points (no timing)."""

from __future__ import annotations

import numpy as np
import pytest

from shapeprof.bench.benchmark import latency_models
from shapeprof.bench.expected import LatencyModel, Policy
from shapeprof.bench.replay import finish, pad_batch, plan_replay, replay_shapes, run_pass
from shapeprof.bench.results import CellResult


def law(b: int, n: int) -> float:
    return 1.0 + 0.1 * b * n


def grid_model(**kw) -> LatencyModel:
    return LatencyModel(((b, n, law(b, n)) for b in (1, 4) for n in (4, 16)), **kw)


def test_extra_points_are_exact_and_join_only_grid_batch_curves():
    m = grid_model(extra=[(4, 8, 50.0), (3, 8, 7.0)])
    assert m(4, 8) == 50.0 and m(3, 8) == 7.0           # measured shapes are used as measured
    assert m(4, 12) == pytest.approx(50.0 + (law(4, 16) - 50.0) / 2)   # 4x8 joined the b=4 curve
    assert m(2, 8) == pytest.approx(law(1, 8) + (50.0 - law(1, 8)) / 3)  # b=3 did not bend b in (1, 4)
    assert m.batches == [1, 4] and m.length_range == (4, 16)


def test_latency_models_split_grid_and_replay_cells():
    from shapeprof.bench.sweep import Cell

    cells = [CellResult("onnx", "onnxruntime", b, n, "data", (law(b, n),) * 3)
             for b, n in [(1, 4), (1, 16), (4, 4), (4, 16)]]
    cells.append(CellResult("onnx", "onnxruntime", 4, 8, "data", (9.0, 10.0, 11.0)))
    grid = [Cell(b, n) for b in (1, 4) for n in (4, 16)]
    full, sweep_only = latency_models(cells)["onnx"], latency_models(cells, grid)["onnx"]
    assert full(4, 8) == 10.0                             # the cell's median
    assert sweep_only(4, 8) == pytest.approx(law(4, 8))   # interpolated without it


def fake_rows() -> tuple[dict[str, list[list[int]]], np.ndarray]:
    seqs = [[7] * n for n in (3, 9, 2, 2, 5)]
    return {"input_ids": seqs, "attention_mask": [[1] * len(s) for s in seqs]}, np.array([3, 9, 2, 2, 5])


def test_plan_pass_and_finish_use_per_batch_medians():
    ids, lengths = fake_rows()
    plan = plan_replay(lambda f: f, ids, lengths, Policy("longest"), 2, pad_id=0)
    assert plan.shapes == [(2, 9), (2, 2), (1, 5)]
    assert plan.feeds[0]["input_ids"].shape == (2, 9) and plan.feeds[0]["attention_mask"][0].sum() == 3
    seen = []
    run_pass(lambda f: seen.append(f["input_ids"].shape), plan)
    assert len(plan.times) == 1 and len(plan.times[0]) == 3
    assert seen[-3:] == [(2, 9), (2, 2), (1, 5)]          # warm-up batches first, then the timed pass
    plan.times = [[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [2.0, 1.0, 1.0]]   # a slow outlier per batch
    model = LatencyModel([(1, 2, 1000.0), (1, 9, 1000.0), (2, 2, 1000.0), (2, 9, 1000.0)])
    result = finish(plan, model, model)
    assert result.measured_s == pytest.approx(3.0)        # medians 1, 1, 1 per batch
    assert result.predicted_s == pytest.approx(3.0) and result.error == pytest.approx(0.0)
    assert result.passes_s == (3.0, 7.0, 4.0) and result.sweep_error == pytest.approx(0.0)
    assert result.batches == 3 and result.policy == "longest"


def test_replay_shapes_are_distinct_and_sorted():
    ids, lengths = fake_rows()
    plans = [plan_replay(lambda f: f, ids, lengths, p, 2, 0)
             for p in (Policy("sorted"), Policy("pad", pad_to=4))]
    assert replay_shapes(plans) == [(1, 4), (1, 9), (2, 2), (2, 4), (2, 5)]
    cut = pad_batch(ids, np.array([1]), 4, pad_id=0)       # a fixed length cuts longer rows
    assert cut["input_ids"].tolist() == [[7, 7, 7, 7]]
