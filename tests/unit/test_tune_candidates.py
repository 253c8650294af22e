"""tune's candidates on a synthetic latency model: predictions, pruning, batch growth under an
SLO, ranking, options checked when built, and the tune/deploy artifacts' round trip."""

from __future__ import annotations

import numpy as np
import pytest

from shapeprof import schema
from shapeprof.bench.expected import LatencyModel
from shapeprof.errors import TuneError
from shapeprof.tune.batching import Batching
from shapeprof.tune.candidates import (Candidate, Layout, Prediction, closest, grow_more, predict,
                                       prune_variants, rank)
from shapeprof.tune.options import Slo, TuneOptions


def model(per_token_ms: float = 0.01, overhead_ms: float = 1.0) -> LatencyModel:
    """Latency linear in tokens, at batch 8 and 32."""
    return LatencyModel((b, n, overhead_ms + per_token_ms * b * n) for b in (8, 32) for n in (4, 30, 60))


LENGTHS = np.random.default_rng(0).integers(4, 60, size=400)


def cand(policy: str = "window", batch: int = 32, sessions: int = 1) -> Candidate:
    batching = Batching(policy, window=128) if policy == "window" else Batching(policy)
    return Candidate("int8", batching, batch, Layout(sessions, 2 // sessions))


def test_prediction_prices_the_planned_batches() -> None:
    got = predict(cand("longest"), model(), LENGTHS)
    batches = [LENGTHS[i:i + 32] for i in range(0, 400, 32)]
    total_ms = sum(1.0 + 0.01 * len(b) * b.max() for b in batches)
    assert got.batches == len(batches)
    assert got.sequences_per_s == pytest.approx(400 / total_ms * 1000, rel=1e-6)
    assert predict(cand("window"), model(), LENGTHS).sequences_per_s > got.sequences_per_s


def test_parallel_sessions_divide_the_total_time() -> None:
    one, two = predict(cand(sessions=1), model(), LENGTHS), predict(cand(sessions=2), model(), LENGTHS)
    assert two.sequences_per_s == pytest.approx(2 * one.sequences_per_s)
    assert two.p99_ms == pytest.approx(one.p99_ms)


def test_pruning_keeps_what_can_win() -> None:
    kept, dropped = prune_variants({"onnx": 100.0, "int8": 250.0, "optimized-int8": 230.0})
    assert kept == ["int8", "optimized-int8"] and "below 85%" in dropped["onnx"]


def test_growth_stops_at_the_slo_or_when_it_stops_paying() -> None:
    fast, faster = Prediction(100, 10, 20, 4, 0), Prediction(150, 30, 60, 2, 0)
    assert grow_more(None, fast, None) and grow_more(fast, faster, None)
    assert not grow_more(fast, Prediction(101, 30, 60, 2, 0), None)        # < 3% gain
    assert not grow_more(fast, faster, Slo(50.0, "p99"))                   # p99 60 > 50
    assert grow_more(fast, faster, Slo(50.0, "p50"))


def test_rank_puts_the_slo_first_and_closest_names_the_nearest() -> None:
    slo = Slo(25.0)
    scored = [(cand(batch=32), Prediction(300, 40, 80, 1, 0)), (cand(batch=8), Prediction(200, 12, 20, 1, 0)),
              (cand("longest", 8), Prediction(150, 20, 30, 1, 0))]
    assert [c.batch_size for c, _ in rank(scored, slo)] == [8, 8, 32]
    assert [c.batch_size for c, _ in rank(scored, None)] == [32, 8, 8]
    assert closest(scored, Slo(5.0), 1)[0][1].p50_ms == 12


@pytest.mark.parametrize("kwargs, needle", [
    (dict(slo_ms=10, slo_p99_ms=20), "not both"), (dict(slo_ms=-1), "positive"),
    (dict(max_accuracy_drop=-0.1), ">= 0"), (dict(window=0), "--window"),
    (dict(variants=("fp16",)), "unknown 'fp16'"), (dict(holdout=1.0), "between 0 and 1"),
    (dict(proof_rounds=1), "at least 2")])
def test_impossible_options_are_refused(kwargs: dict, needle: str) -> None:
    with pytest.raises(TuneError, match=needle):
        TuneOptions(**kwargs)


def test_candidate_round_trip_and_artifacts_registered() -> None:
    c = Candidate("optimized-int8", Batching("buckets", edges=(12, 20)), 64, Layout(2, 1))
    assert Candidate.from_dict(c.to_dict()) == c
    assert schema.current("tune") == 3 and schema.current("deploy") == 1


@pytest.mark.parametrize("counts", [[32, 20], [32], [5], [300], [16, 64], [8]])
def test_the_proof_retimes_exactly_the_cells_that_price_its_batches(counts):
    from shapeprof.tune.proof import pricing_shapes

    rng = np.random.default_rng(0)
    cells = {(b, n): float(b * n * rng.uniform(0.9, 1.1) + 3) for b in (4, 8, 16, 32, 64, 128)
             for n in (6, 18, 25, 40, 54)}
    used = pricing_shapes(cells, counts)
    assert len({b for b, _ in used}) < 6 and all(len([s for s in used if s[0] == b]) == 5 for b, _ in used)
    full, part = LatencyModel((b, n, ms) for (b, n), ms in cells.items()), \
        LatencyModel((b, n, cells[b, n]) for b, n in used)
    lengths = np.array([6, 9, 18, 30, 54, 60])
    for k in counts:
        assert part.at_batch(k, lengths) == pytest.approx(full.at_batch(k, lengths), rel=1e-12)
    one = {(32, n): 1.0 for n in (6, 54)}
    assert pricing_shapes(one, [20]) == [(32, 6), (32, 54)]         # one size: linear in rows, as the model
