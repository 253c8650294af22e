"""Generation sweep design and expected per-request latency on constructed profiles (no timing)."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from shapeprof.bench.decode import (DecoderFeeds, design_generation, estimate_generation,
                                    generation_models, past_lengths)
from shapeprof.bench.expected import LatencyModel
from shapeprof.bench.profile_view import ProfileView
from shapeprof.bench.results import CellResult
from shapeprof.bench.sweep import Cell
from shapeprof.errors import BenchError

COUNTS = {10: 5, 20: 3, 30: 2}


def prefill_law(b: int, n: int) -> float:
    return 2.0 + 0.1 * b * n


def decode_law(b: int, past: int) -> float:
    return 0.5 + 0.01 * b * past


def models(batches=(1, 2)) -> tuple[LatencyModel, LatencyModel]:
    prefill = LatencyModel((b, n, prefill_law(b, n)) for b in batches for n in (10, 20, 30))
    decode = LatencyModel((b, p, decode_law(b, p)) for b in batches for p in (10, 40))
    return prefill, decode


def test_design_prefill_at_profile_lengths_and_decode_up_to_the_last_token():
    view = ProfileView(counts=COUNTS, batch_sizes=(1, 4))
    cells = design_generation(view, new_tokens=8)
    prefill = sorted({c.sequence_length for c in cells if c.phase == "prefill"})
    assert prefill == sorted(set(view.quantile_lengths((50, 90, 99))) | {10, 30})
    decode = [c for c in cells if c.phase == "decode"]
    assert {c.batch_size for c in cells} == {1, 4} and all(c.sequence_length == 1 for c in decode)
    assert sorted({c.past_length for c in decode}) == past_lengths(prefill, 8)
    assert past_lengths([10], 8) == [10, 13, 16]          # decode steps see past 10..16 for N=8
    assert Cell(1, 1, "decode", 16).label == "decode-1x1-past16"


def test_design_defaults_limits_and_single_token():
    cells = design_generation(batch_sizes=[1], prompts=[8], new_tokens=1)
    assert cells == [Cell(1, 8, "prefill")]               # one token: prefill only
    clipped = design_generation(ProfileView(counts={5: 1, 100: 1}), [1], new_tokens=4, max_length=64)
    assert max(c.sequence_length for c in clipped if c.phase == "prefill") == 61
    with pytest.raises(BenchError, match="limit of 61"):
        design_generation(batch_sizes=[1], prompts=[100], new_tokens=4, max_length=64)
    with pytest.raises(BenchError, match="at least 1"):
        design_generation(new_tokens=0)


def test_expected_per_request_at_batch_one_weights_each_prompt_length():
    prefill, decode = models()
    n = 6
    est = estimate_generation(prefill, decode, COUNTS, 1, n)
    weights = {k: v / 10 for k, v in COUNTS.items()}
    ttft = sum(w * prefill_law(1, p) for p, w in weights.items())
    steps = sum(w * sum(decode_law(1, p + k) for k in range(n - 1)) for p, w in weights.items())
    assert est.ttft_ms == pytest.approx(ttft) and est.decode_ms == pytest.approx(steps)
    assert est.total_ms == pytest.approx(ttft + steps)
    assert est.ms_per_token == pytest.approx(steps / (n - 1))
    assert est.tokens_per_s == pytest.approx(n * 1000 / (ttft + steps))
    assert est.mean_prompt_length == pytest.approx(17.0) and est.outside_measured == 0.0


def test_expected_at_batch_two_pads_to_the_longest_prompt_of_the_batch():
    prefill, decode = models()
    lengths = [p for p, c in COUNTS.items() for _ in range(c)]
    est = estimate_generation(prefill, decode, COUNTS, 2, 3)
    draws = [prefill_law(2, max(a, b)) + decode_law(2, max(a, b)) + decode_law(2, max(a, b) + 1)
             for a, b in itertools.product(lengths, repeat=2)]
    assert est.total_ms == pytest.approx(np.mean(draws))
    assert est.requests_per_s == pytest.approx(2000 / est.total_ms)


def test_outside_measured_and_models_from_cells():
    prefill, decode = models()
    assert estimate_generation(prefill, decode, {40: 1}, 1, 20).outside_measured == 1.0
    cells = [CellResult("onnx", "onnxruntime", 1, 16, "data", (3.0, 4.0, 5.0), phase="prefill"),
             CellResult("onnx", "onnxruntime", 1, 1, "data", (1.0,), phase="decode", past_length=16),
             CellResult("onnx", "onnxruntime", 1, 1, "data", (2.0,), phase="decode", past_length=32)]
    pre, dec = generation_models(cells)["onnx"]
    assert pre(1, 16) == 4.0 and dec(1, 24) == pytest.approx(1.5)


def test_decoder_feeds_shapes_positions_and_real_tokens():
    inputs = {n: {} for n in ("input_ids", "attention_mask", "position_ids", "past_key_values.0.key")}
    model = SimpleNamespace(inputs=inputs, config={}, vocab_size=50)
    kv = SimpleNamespace(name="past_key_values.0.key", shape=["batch_size", 2, "past_sequence_length", 4],
                         type="tensor(float)")
    session = SimpleNamespace(get_inputs=lambda: [SimpleNamespace(name="input_ids"), kv])
    feeds = DecoderFeeds(model, session, tokens=np.arange(100, 110))
    step = feeds(Cell(3, 1, "decode", 5))
    assert step["past_key_values.0.key"].shape == (3, 2, 5, 4)
    assert step["past_key_values.0.key"].dtype == np.float32
    assert step["attention_mask"].shape == (3, 6) and step["position_ids"].tolist() == [[5]] * 3
    prompt = feeds(Cell(2, 4, "prefill"))
    assert prompt["past_key_values.0.key"].shape == (2, 2, 0, 4)
    assert prompt["position_ids"].tolist() == [[0, 1, 2, 3]] * 2
    assert ((prompt["input_ids"] >= 100) & (prompt["input_ids"] < 110)).all()
