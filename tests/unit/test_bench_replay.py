"""Replay planning and scoring, and the latency model's exact extra points (no timing)."""

from __future__ import annotations

import numpy as np
import pytest

from shapeprof.bench.text import latency_models
from shapeprof.bench.expected import LatencyModel, Policy
from shapeprof.bench.replay import ReplayResult, finish, pad_batch, plan_replay, run_batch, run_pass, spread
from shapeprof.bench.results import CellResult


def law(b: int, n: int) -> float:
    return 1.0 + 0.1 * b * n


def grid_model(**kw) -> LatencyModel:
    return LatencyModel(((b, n, law(b, n)) for b in (1, 4) for n in (4, 16)), **kw)


def test_latency_models_use_each_cells_median():
    cells = [CellResult("onnx", "onnxruntime", b, n, "data", (law(b, n), law(b, n), 99.0))
             for b, n in [(1, 4), (1, 16), (4, 4), (4, 16)]]
    model = latency_models(cells)["onnx"]
    assert model(4, 16) == pytest.approx(law(4, 16))         # the median, not the mean with 99
    assert model(4, 8) == pytest.approx(law(4, 8))           # linear in length between cells
    assert model.batches == [1, 4] and model.length_range == (4, 16)


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
    assert len(plan.times) == 1 and len(plan.times[0]) == 3 and plan.cell_times == []
    assert seen[-3:] == [(2, 9), (2, 2), (1, 5)]          # warm-up batches first, then the timed pass
    plan.times = [[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [2.0, 1.0, 1.0]]   # a slow outlier per batch
    model = LatencyModel([(1, 2, 1000.0), (1, 9, 1000.0), (2, 2, 1000.0), (2, 9, 1000.0)])
    result = finish(plan, model)
    assert result.measured_s == pytest.approx(3.0)        # medians 1, 1, 1 per batch
    assert result.predicted_s == pytest.approx(3.0) and result.error == pytest.approx(0.0)
    assert result.passes_s == (3.0, 7.0, 4.0) and result.side_by_side_s is None
    assert result.batches == 3 and result.policy == "longest"
    plan.times.append([9.0])                              # a pass cut short by an error
    assert finish(plan, model).passes_s == (3.0, 7.0, 4.0)
    plan.times = [[1.0]]
    with pytest.raises(ValueError, match="no whole timed pass"):
        finish(plan, model)


def test_each_batch_is_followed_by_its_shapes_cell():
    ids, lengths = fake_rows()
    plan = plan_replay(lambda f: f, ids, lengths, Policy("sorted"), 2, pad_id=0)
    cells = {shape: {"input_ids": np.zeros(shape, dtype=np.int64), "cell": True} for shape in plan.shapes}
    plan.attach_cells(lambda shape: cells[shape])
    seen = []
    run_pass(lambda f: seen.append((f["input_ids"].shape, "cell" in f)), plan)
    timed = seen[-2 * len(plan.shapes):]
    assert timed == [(s, c) for s in plan.shapes for c in (False, True)]   # batch, then its cell
    assert len(plan.cell_times) == 1 and len(plan.cell_times[0]) == len(plan.shapes)
    plan.times = [[1.0] * 3, [2.0] * 3, [3.0] * 3]
    plan.cell_times = [[0.5] * 3, [1.0] * 3, [9.0] * 3]
    result = finish(plan, LatencyModel([(1, 2, 1.0), (2, 9, 1.0)]))
    assert result.measured_s == pytest.approx(6.0) and result.side_by_side_s == pytest.approx(3.0)
    assert result.side_by_side_error == pytest.approx(-0.5)


def test_replay_result_reads_older_json():
    ids, lengths = fake_rows()
    plan = plan_replay(lambda f: f, ids, lengths, Policy("pad", pad_to=4), 2, pad_id=0)
    plan.times = [[1.0, 1.0, 1.0]]
    d = finish(plan, LatencyModel([(2, 4, 1000.0)])).to_dict()
    d.pop("side_by_side_s"), d.pop("side_by_side_error")
    old = ReplayResult.from_dict({**d, "sweep_predicted_s": 2.5, "sweep_error": 0.1})
    assert old.policy == "pad:4" and old.side_by_side_s is None and old.passes_s == (3.0,)


def test_pad_batch_cuts_rows_to_a_fixed_length():
    ids, _ = fake_rows()
    cut = pad_batch(ids, np.array([1]), 4, pad_id=0)       # a fixed length cuts longer rows
    assert cut["input_ids"].tolist() == [[7, 7, 7, 7]]


def test_spread_keeps_each_pass_unbroken_and_rotates_the_plans():
    ids, lengths = fake_rows()
    plans = [plan_replay(lambda f: f, ids, lengths, p, 2, 0) for p in (Policy("sorted"), Policy("longest"))]
    a, b = plans
    slices = spread(plans, repeats=2, slots=4)
    flat = [job for piece in slices for job in piece]
    assert len(slices) == 4 and flat == [(a, 0), (a, 1), (a, 2), (b, 0), (b, 1), (b, 2)] * 2
    assert max(map(len, slices)) - min(map(len, slices)) <= 1   # even slices
    turned = [job for piece in spread(plans, 1, 4, turn=1) for job in piece]
    assert turned == [(b, 0), (b, 1), (b, 2), (a, 0), (a, 1), (a, 2)]     # round 1 starts with b
    assert spread(plans, 1, 10)[0] == [] and len(spread(plans, 1, 10)) == 10   # more cells than batches
    for piece in slices:
        for plan, i in piece:
            run_batch(lambda f: None, plan, i)
    assert [len(t) for t in a.times] == [3, 3]                  # batch 0 opened each pass


def test_error_paired_by_round_cancels_drift_between_rounds():
    ids, lengths = fake_rows()
    plan = plan_replay(lambda f: f, ids, lengths, Policy("longest"), 2, pad_id=0)
    speed = [1.0, 2.0, 1.5]                                # the machine slows 2x in round 2
    plan.times = [[0.001 * s] * 3 for s in speed]          # one pass per round, 1 ms per batch at speed 1
    per_round = [LatencyModel([(b, n, 1.1 * s) for b in (1, 2) for n in (2, 9)]) for s in speed]
    result = finish(plan, LatencyModel([(1, 2, 1.0), (2, 9, 1.0)]), per_round=per_round, repeats=1)
    assert result.round_error == pytest.approx(0.1)         # 10% high in every round
    assert result.round_error_low == pytest.approx(0.1) and result.round_error_high == pytest.approx(0.1)
    assert ReplayResult.from_dict(result.to_dict()) == result
    two = finish(plan, grid_model(), per_round=per_round[:2], repeats=1)  # passes don't match rounds
    assert two.round_error is None
