"""tune's search without a model: the batch sizes it times, parallel cells interleaved across
variants, and the choice between the thread layouts' best candidates by measured throughput."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shapeprof.tune.batching import Batching
from shapeprof.tune.candidates import Candidate, Layout, Prediction
from shapeprof.tune.context import TuneContext
from shapeprof.tune.measure import TimingPolicy, time_parallel_groups
from shapeprof.tune.options import TuneOptions
from shapeprof.tune.search import choose, small_batches


def test_small_batches_are_the_powers_of_two_and_the_profiles_below_32() -> None:
    assert small_batches([1, 8, 32]) == [1, 2, 4, 8, 16]
    assert small_batches([3, 24, 64, 0]) == [1, 2, 3, 4, 8, 16, 24]


class Recorder:
    """A session whose run records who ran which shape, in order."""

    def __init__(self, name: str, log: list[tuple[str, int]]) -> None:
        self.name, self.log = name, log

    def run(self, outputs, feeds) -> list:
        self.log.append((self.name, feeds["input_ids"].shape[0]))
        return []


def test_parallel_cells_interleave_the_variants_and_run_every_session() -> None:
    log: list[tuple[str, int]] = []
    groups = {v: [Recorder(f"{v}{i}", log) for i in range(2)] for v in ("a", "b")}
    feeds = lambda shape: {"input_ids": np.zeros(shape, dtype=np.int64)}  # noqa: E731
    once = TimingPolicy(warmup=0, min_samples=1, min_time_s=0.0)
    got = time_parallel_groups(groups, [(8, 4), (16, 4)], feeds, rounds=2, timing=once)
    assert set(got) == {"a", "b"} and all(set(cells) == {(8, 4), (16, 4)} for cells in got.values())
    firsts = [log[i][0][0] for i in range(0, len(log), 4)]      # the variant opening each cell
    assert firsts == ["a", "a", "b", "b"]                      # round 2 starts with the other variant
    assert sorted(name for name, _ in log) == sorted([f"{v}{i}" for v in "ab" for i in range(2)] * 4)


def _ctx(scored: list[tuple[Candidate, Prediction]], **options) -> TuneContext:
    ctx = TuneContext(None, None, TuneOptions(progress=False, **options), Path("."), 2)
    ctx.scored = scored
    return ctx


def _cand(batch: int, sessions: int) -> Candidate:
    return Candidate("int8", Batching("window", window=64), batch, Layout(sessions, 2 // sessions))


def _pred(seq_s: float, p50: float) -> Prediction:
    return Prediction(seq_s, p50, 2 * p50, 10, 0)


def test_the_layout_measured_fastest_wins_among_those_meeting_the_slo() -> None:
    one, two, slow = _cand(32, 1), _cand(8, 2), _cand(64, 2)
    scored = [(one, _pred(900.0, 20.0)), (two, _pred(800.0, 10.0)), (slow, _pred(950.0, 90.0))]
    measured = {"candidates": [one.to_dict(), two.to_dict()], "measured_sequences_per_s": [700.0, 760.0]}
    assert choose(_ctx(scored), measured) == two                 # served faster, though predicted slower
    assert choose(_ctx(scored), {}) == slow                      # nothing served: the best prediction
    assert choose(_ctx(scored, slo_ms=15.0), {**measured, "measured_sequences_per_s": [800.0, 760.0]}) == two
    assert choose(_ctx(scored, slo_ms=1.0), measured) is None
