"""Expected per-request figures over real (prompt, completion) pairs, on known cost laws (no timing)."""

from __future__ import annotations

import numpy as np
import pytest

from shapeprof.bench.decode import design_generation, pair_past_lengths
from shapeprof.bench.expected import LatencyModel
from shapeprof.bench.generation_replay import GenerationReplay, median_marks
from shapeprof.bench.profile_view import profile_view
from shapeprof.bench.requests import (RequestEstimate, batch_draws, constant_pairs, estimate_requests,
                                      expand_pairs)
from shapeprof.bench.results import BenchResults
from shapeprof.errors import BenchError

LENGTHS = (1, 8, 16, 64, 256, 512)


def prefill_law(b: int, n: int) -> float:
    return 1.0 + 0.05 * b * n


def decode_law(b: int, past: int) -> float:
    return 0.2 + 0.001 * b * past


def models(batches=(1, 4)) -> tuple[LatencyModel, LatencyModel]:
    """Linear laws measured at a few lengths: interpolation gives them exactly in range."""
    prefill = LatencyModel((b, n, prefill_law(b, n)) for b in batches for n in LENGTHS)
    decode = LatencyModel((b, n, decode_law(b, n)) for b in batches for n in LENGTHS)
    return prefill, decode


def brute_force(pairs: dict[tuple[int, int], int]) -> np.ndarray:
    """Latency of every request at batch 1, summed step by step."""
    out = []
    for (p, n), c in pairs.items():
        ms = prefill_law(1, p) + sum(decode_law(1, p + k) for k in range(n - 1))
        out += [ms] * c
    return np.array(out)


SHORT = {(20, 10): 50, (40, 30): 40, (80, 60): 10}
TAIL = {(20, 10): 50, (40, 30): 40, (80, 400): 10}          # same prompts, a long completion tail


def test_batch_one_is_exact_over_the_pairs():
    prefill, decode = models()
    got = estimate_requests(prefill, decode, SHORT, 1)
    want = brute_force(SHORT)
    assert got.requests == 100 and got.source == "data pairs"
    for q in (50, 90, 99):
        assert got.latency_ms[f"p{q}"] == pytest.approx(np.percentile(want, q))
    assert got.latency_ms["mean"] == pytest.approx(want.mean())
    ttft = np.repeat([prefill_law(1, p) for p, _ in SHORT], list(SHORT.values()))
    assert got.ttft_ms["p90"] == pytest.approx(np.percentile(ttft, 90))
    assert got.mean_new_tokens == pytest.approx(0.5 * 10 + 0.4 * 30 + 0.1 * 60)
    total_s = want.sum() / 1000
    assert got.requests_per_s == pytest.approx(100 / total_s)
    assert got.tokens_per_s == pytest.approx((50 * 10 + 40 * 30 + 10 * 60) / total_s)
    assert got.outside_measured == 0.0


def test_the_completion_distribution_drives_p99_not_the_mean():
    prefill, decode = models()
    short, tail = estimate_requests(prefill, decode, SHORT, 1), estimate_requests(prefill, decode, TAIL, 1)
    assert tail.latency_ms["p50"] == pytest.approx(short.latency_ms["p50"])
    assert tail.latency_ms["p99"] > 5 * short.latency_ms["p99"]
    # a constant new-token count at the tail's mean misses its p99 by far
    mean_n = round(tail.mean_new_tokens)
    constant = {(p, mean_n): c for (p, _), c in TAIL.items()}
    assert estimate_requests(prefill, decode, constant, 1).latency_ms["p99"] < 0.5 * tail.latency_ms["p99"]


def test_static_batches_wait_for_their_longest_prompt_and_decode_to_each_rows_end():
    prefill, decode = models()
    one, four = estimate_requests(prefill, decode, TAIL, 1), estimate_requests(prefill, decode, TAIL, 4)
    assert four.batch_size == 4 and four.ttft_ms["p50"] >= prefill_law(4, 20)
    assert four.ttft_ms["mean"] > one.ttft_ms["mean"]          # padded to the batch's longest prompt
    p, n = expand_pairs(TAIL)
    draws = batch_draws(len(p), 4, seed=0)
    assert draws.shape[1] == 4 and np.bincount(draws.ravel(), minlength=len(p)).min() >= 8
    assert estimate_requests(prefill, decode, TAIL, 4, seed=0) == four          # seeded


def test_outside_the_measured_lengths_is_reported_and_decode_is_required():
    prefill, decode = models()
    far = estimate_requests(prefill, decode, {(20, 10): 1, (600, 2): 1}, 1)
    assert far.outside_measured == 0.5
    with pytest.raises(BenchError, match="no decode cells"):
        estimate_requests(prefill, None, SHORT, 1)
    assert estimate_requests(prefill, None, {(20, 1): 3}, 1).latency_ms["p50"] == pytest.approx(prefill_law(1, 20))


def test_the_sweep_decodes_up_to_the_longest_real_request():
    view = profile_view({"length_counts": {"20": 50, "40": 40, "80": 10}, "batch_sizes": [1, 4],
                         "generation": {"pairs": [[p, n, c] for (p, n), c in TAIL.items()]}})
    assert view.pairs == TAIL
    cells = design_generation(view)
    pasts = sorted({c.past_length for c in cells if c.phase == "decode"})
    assert pasts[-1] == 80 + 400 - 2 and set(pasts) >= {20, 80}
    assert pasts == pair_past_lengths(sorted({c.sequence_length for c in cells if c.phase == "prefill"}), TAIL)
    constant = design_generation(view, new_tokens=8)                 # --new-tokens overrides the data
    assert max(c.past_length for c in constant) == 80 + 8 - 2
    assert constant_pairs({20: 3, 1000: 1}, 8, max_length=512) == {(20, 8): 3, (505, 8): 1}


def test_real_pairs_beyond_the_models_positions_are_refused():
    view = profile_view({"length_counts": {"20": 50, "80": 10}, "batch_sizes": [1],
                         "generation": {"pairs": [[p, n, c] for (p, n), c in TAIL.items()]}})
    assert design_generation(view, max_length=80 + 400 - 1)          # the longest fits exactly
    with pytest.raises(BenchError, match=r"longest request \(prompt 80 \+ 400 new tokens\) exceeds the "
                                         r"model's 478 positions; .*--new-tokens"):
        design_generation(view, max_length=478)


def test_results_keep_requests_and_replays_and_read_older_files():
    prefill, decode = models()
    estimate = estimate_requests(prefill, decode, SHORT, 1)
    replay = GenerationReplay("onnx", "onnxruntime", 1, 3, 2, 40, 0.1, 0.12, -1 / 6, 0.11, -1 / 11,
                              {"predicted": {"p50": 1.0}, "measured": {"p50": 1.1}},
                              {"predicted": {"p50": 9.0}, "measured": {"p50": 10.0}})
    results = BenchResults({"model_type": "gpt2"}, {}, {"versions": {}}, requests=(estimate,),
                           generation_replays=(replay,))
    again = BenchResults.from_dict(results.to_dict())
    assert again.requests == (estimate,) and again.generation_replays == (replay,)
    older = {k: v for k, v in results.to_dict().items() if k not in ("requests", "generation_replays")}
    assert BenchResults.from_dict(older).requests == ()
    assert RequestEstimate.from_dict({**estimate.to_dict(), "later_field": 1}) == estimate


def test_replay_times_are_medians_per_call():
    """A step slowed in one round (outside load) does not count: medians per call, summed."""
    rounds = [np.cumsum([1.0, 0.1, 0.1, 0.1]), np.cumsum([1.0, 0.1, 5.0, 0.1]),
              np.cumsum([1.2, 0.1, 0.1, 0.1])]
    assert median_marks(rounds) == pytest.approx([1.0, 1.1, 1.2, 1.3])
