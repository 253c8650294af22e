"""tune's batching policies: every row served once, order restored, windows sorted, buckets padded
to their edge; the deployment snippet forms exactly the same batches."""

from __future__ import annotations

import numpy as np
import pytest

from shapeprof.tune import snippet
from shapeprof.tune.batching import Batching, padded_tokens, plan
from shapeprof.tune.serve import restore

EDGES = (12, 18, 22, 27, 32, 37, 44, 55)
POLICIES = [Batching("longest"), Batching("window", window=64), Batching("window", window=7),
            Batching("buckets", edges=EDGES)]


def lengths(n: int = 300, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(3, 70, size=n)       # some rows above the last edge


@pytest.mark.parametrize("batching", POLICIES, ids=lambda b: b.label)
@pytest.mark.parametrize("batch", [1, 5, 32])
def test_every_row_is_served_once_and_order_is_restored(batching: Batching, batch: int) -> None:
    lens = lengths()
    batches = plan(lens, batching, batch)
    served = np.concatenate([idx for idx, _ in batches])
    assert sorted(served.tolist()) == list(range(len(lens)))
    assert all(1 <= len(idx) <= batch and pad >= lens[idx].max() for idx, pad in batches)
    outputs = [np.stack([np.full(3, r) for r in idx]) for idx, _ in batches]   # each row's own id
    assert [int(o[0]) for o in restore(batches, outputs, len(lens))] == list(range(len(lens)))


def test_windows_are_sorted_and_never_mix_windows() -> None:
    lens = lengths()
    for idx, pad in plan(lens, Batching("window", window=50), 8):
        assert len({int(i) // 50 for i in idx}) == 1
        assert list(lens[idx]) == sorted(lens[idx]) and pad == lens[idx].max()


def test_buckets_pad_to_their_edge_and_sorting_cuts_padding() -> None:
    lens = lengths()
    for idx, pad in plan(lens, Batching("buckets", edges=EDGES), 16):
        above = lens[idx].max() > EDGES[-1]
        assert pad == (lens[idx].max() if above else min(e for e in EDGES if e >= lens[idx].max()))
    waste = {b.policy + str(b.window): padded_tokens(plan(lens, b, 32), lens) for b in POLICIES}
    assert waste["window64"] < waste["longest0"] and waste["buckets0"] < waste["longest0"]


def test_restore_refuses_a_plan_that_drops_a_row() -> None:
    lens = lengths(10)
    batches = plan(lens, Batching("longest"), 4)[:-1]
    with pytest.raises(ValueError, match="never served"):
        restore(batches, [np.zeros((len(i), 1)) for i, _ in batches], len(lens))


@pytest.mark.parametrize("batching", POLICIES, ids=lambda b: b.label)
def test_the_snippet_plans_the_same_batches(batching: Batching) -> None:
    lens = lengths(seed=3)
    ours = plan(lens, batching, 16)
    theirs = snippet.plan(lens, batching.to_dict(), 16)
    assert [(i.tolist(), p) for i, p in ours] == [(i.tolist(), p) for i, p in theirs]


def test_bad_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown batching policy"):
        Batching("random")
    with pytest.raises(ValueError, match="window"):
        Batching("window", window=0)
    with pytest.raises(ValueError, match="edges"):
        Batching("buckets")


class _Session:
    """Doubles its input; counts its calls."""

    def __init__(self, fail: bool = False) -> None:
        self.calls, self.fail = 0, fail

    def run(self, names, feeds):
        self.calls += 1
        if self.fail:
            raise RuntimeError("broken session")
        return [feeds["x"] * 2]


def test_parallel_sessions_serve_every_batch_once_in_plan_order() -> None:
    from shapeprof.tune.serve import run_pass

    sessions = [_Session(), _Session()]
    done, outputs = run_pass(sessions, [{"x": np.full(2, i)} for i in range(9)], keep=True)
    assert sum(s.calls for s in sessions) == 9 and len(done.batch_ms) == 9
    assert [int(o[0]) for o in outputs] == [2 * i for i in range(9)]
    with pytest.raises(RuntimeError, match="broken"):
        run_pass([_Session(fail=True), _Session(fail=True)], [{"x": np.zeros(1)}] * 4)
