"""Decode cells time the real greedy step (a growing cache, the host's work), and the decode cost
is a least-squares line over past length."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from shapeprof.bench.expected import LatencyModel, LinearModel
from shapeprof.bench.greedy_step import CHAIN, StepChain, cell_call, next_feeds, shorter_past
from shapeprof.bench.runner import TimingPolicy, collect_timed

VOCAB, HEADS, DIM = 11, 2, 3


class FakeDecoder:
    """A with-past decoder's interface: records each call's past length and input token, returns
    a cache one token longer and logits whose argmax is the past length (mod the vocabulary)."""

    def __init__(self) -> None:
        self.pasts: list[int] = []
        self.tokens: list[int] = []

    def get_inputs(self):
        names = ["input_ids", "attention_mask", "position_ids", "past_key_values.0.key",
                 "past_key_values.0.value"]
        return [SimpleNamespace(name=n) for n in names]

    def get_outputs(self):
        return [SimpleNamespace(name=n) for n in ("logits", "present.0.key", "present.0.value")]

    def run(self, names, feeds):
        b, n = feeds["input_ids"].shape
        past = feeds["past_key_values.0.key"].shape[2]
        assert feeds["attention_mask"].shape == (b, past + n)
        assert (feeds["position_ids"] == np.arange(past, past + n)).all()
        self.pasts.append(past)
        self.tokens.append(int(feeds["input_ids"][0, -1]))
        logits = np.zeros((b, n, VOCAB), dtype=np.float32)
        logits[:, -1, past % VOCAB] = 1.0
        grown = np.zeros((b, HEADS, past + n, DIM), dtype=np.float32)
        return [logits, grown, grown.copy()]


def cell_feeds(batch: int, past: int) -> dict[str, np.ndarray]:
    cache = np.ones((batch, HEADS, past, DIM), dtype=np.float32)
    return {"input_ids": np.full((batch, 1), 5), "attention_mask": np.ones((batch, past + 1), dtype=np.int64),
            "position_ids": np.full((batch, 1), past), "past_key_values.0.key": cache,
            "past_key_values.0.value": cache.copy()}


def test_a_chain_of_steps_centres_on_the_cells_past_length():
    session = FakeDecoder()
    chain = StepChain(session, cell_feeds(2, 40))
    chain.reset()
    for _ in range(CHAIN):
        chain.step()
    half = (CHAIN + 1) // 2
    assert session.pasts == list(range(40 - half, 40 - half + CHAIN + 1))     # the reset, then the steps
    assert np.mean(session.pasts[1:]) == 40
    assert session.tokens[2:] == [p % VOCAB for p in session.pasts[1:-1]]    # each step feeds the argmax


def test_a_chain_near_the_start_begins_at_an_empty_cache():
    session = FakeDecoder()
    chain = StepChain(session, cell_feeds(1, 2))
    chain.reset()
    chain.step()
    assert session.pasts == [0, 1]


def test_shorter_past_cuts_the_cache_mask_and_positions():
    feeds = shorter_past(cell_feeds(3, 10), 4)
    assert feeds["past_key_values.0.key"].shape == (3, HEADS, 4, DIM)
    assert feeds["past_key_values.0.key"].flags["C_CONTIGUOUS"]
    assert feeds["attention_mask"].shape == (3, 5) and (feeds["position_ids"] == 4).all()


def test_next_feeds_grows_the_mask_and_keeps_left_padding_in_positions():
    mask = np.array([[0, 0, 1, 1], [1, 1, 1, 1]])
    logits = np.zeros((2, 1, VOCAB), dtype=np.float32)
    logits[0, 0, 7], logits[1, 0, 3] = 1.0, 1.0
    cache = np.zeros((2, HEADS, 4, DIM), dtype=np.float32)
    result = {"logits": logits, "present.0.key": cache, "present.0.value": cache}
    feeds, grown = next_feeds(result, mask, {"input_ids", "attention_mask", "position_ids",
                                              "past_key_values.0.key"})
    assert grown.shape == (2, 5) and feeds["input_ids"].ravel().tolist() == [7, 3]
    assert feeds["position_ids"].ravel().tolist() == [2, 4]
    assert set(feeds) == {"input_ids", "attention_mask", "position_ids", "past_key_values.0.key"}


def test_decode_cells_are_chains_and_prefill_cells_single_calls():
    session = FakeDecoder()
    call, reset = cell_call(session, cell_feeds(1, 20), "decode")
    samples, _ = collect_timed(call, TimingPolicy(warmup=2, min_samples=2 * CHAIN + 1, min_time_s=0), reset,
                               CHAIN)
    assert len(samples) == 2 * CHAIN + 1
    half = (CHAIN + 1) // 2
    assert session.pasts.count(20 - half) == 1 + 3            # resets: warm-up, then before 0, 7, 14
    assert max(session.pasts) == 20 - half + CHAIN and min(session.pasts) == 20 - half
    session = FakeDecoder()
    call, reset = cell_call(session, cell_feeds(1, 0), "prefill")
    assert reset is None
    call()
    assert session.pasts == [0]


def test_the_decode_line_is_least_squares_and_ignores_one_slow_cell():
    cells = [(1, p, 0.1 + 0.001 * p) for p in (10, 50, 100, 200, 400)]
    model = LinearModel(cells)
    assert model(1, 300) == pytest.approx(0.4)
    assert model(1, 50) == pytest.approx(0.15)
    noisy = [(b, p, ms * (3.0 if p == 100 else 1.0)) for b, p, ms in cells]
    line, points = LinearModel(noisy), LatencyModel(noisy)
    assert abs(line(1, 100) - 0.2) < 0.1 < abs(points(1, 100) - 0.2)     # the spike stays a spike
    flat = LinearModel([(1, 10, 0.3), (1, 100, 0.2)])            # cost never falls with the past
    assert flat(1, 10) == flat(1, 1000) == pytest.approx(0.25)


def test_the_decode_line_interpolates_between_batch_sizes():
    model = LinearModel([(b, p, b * (0.1 + 0.001 * p)) for b in (1, 4) for p in (10, 100)])
    assert model(2, 100) == pytest.approx(0.4)
    assert model.length_range == (10, 100)

