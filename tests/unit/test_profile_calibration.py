"""Calibration on real data: intervals from 1,000- and 10,000-row samples of SST-2 train contain
the full data's values in at least 95% of 200 seeded repetitions.

Every statistic must cover in at least 190 of the 200 repetitions: the percentiles
(order-statistic bounds), the buckets' waste (split halves), the padding waste of every policy
the profile reports (studentized bootstrap, simultaneous over the policies), and all the
padding-waste intervals at once.

SST-2 train (67,349 rows) is tokenized once with the embedded all-MiniLM-L6-v2; every
repetition then draws its sample from the full histogram without replacement
(``multivariate_hypergeometric`` on the counts) and computes the intervals from that histogram,
as a ``--rows N`` profile does. The full data's values are what a profile of every row reports.
"""

from __future__ import annotations

import numpy as np
import pytest

from shapeprof.profile import ShapeProfile, bucket_plan, profile_dataset
from shapeprof.profile.bootstrap import edge_waste, resample, split_half_bucket_waste
from shapeprof.profile.intervals import percentile_interval
from shapeprof.profile.stats import as_arrays
from shapeprof.profile.uncertainty import joint_confidence, waste_interval

REPETITIONS = 200
SIZES = (1_000, 10_000)
QUANTILES = (50, 90, 95, 99)
POLICIES = ("max_length (512)", "fixed (128)", "longest @ batch 1", "longest @ batch 8",
            "longest @ batch 32", "multiple_of_8 @ batch 1", "multiple_of_8 @ batch 8",
            "multiple_of_8 @ batch 32")
BUCKET_REPETITIONS = 50        # the buckets' split halves fit 200 DPs per sample: fewer samples


@pytest.fixture(scope="module")
def full(glue_dir) -> ShapeProfile:
    profile = profile_dataset(None, "glue", data_dir=glue_dir, split="train", progress=False)
    assert profile.dataset.rows_sampled == 67_349 and profile.uncertainty.status == "exact"
    return profile


def coverage(full: ShapeProfile, rows: int) -> dict[str, float]:
    values, counts = as_arrays(full.length_counts())
    population = int(counts.sum())
    policies = {w.label: w for w in full.padding if w.label in POLICIES}
    level = joint_confidence(full.padding)
    rng = np.random.default_rng(rows)
    hits: dict[str, int] = {}
    for rep in range(REPETITIONS):
        sample = rng.multivariate_hypergeometric(counts, rows)
        present = sample > 0
        found = {f"p{q}": percentile_interval(values[present], sample[present], q, population)
                 .contains(full.sequence.p(q)) for q in QUANTILES}
        draws = resample(sample[present], seed=rep)
        for label, w in policies.items():
            interval = waste_interval(w, draws, values[present], sample[present],
                                      full.model.max_length, population, level)
            found[label] = interval is not None and interval.contains(w.waste)
        found["all padding"] = all(found[label] for label in policies)
        if rep < BUCKET_REPETITIONS:
            found["buckets"] = bucket_covered(values, counts, sample, rep)
        for key, hit in found.items():
            hits[key] = hits.get(key, 0) + int(hit)
    return {k: v / (BUCKET_REPETITIONS if k == "buckets" else REPETITIONS) for k, v in hits.items()}


def bucket_covered(values: np.ndarray, counts: np.ndarray, sample: np.ndarray, seed: int) -> bool:
    """The sample's chosen buckets, applied to every row, waste what their interval says."""
    present = sample > 0
    plan = bucket_plan(dict(zip(values[present].tolist(), sample[present].tolist())), None, 32)
    on_all = float(edge_waste(np.array([plan.edges], dtype=np.float64), values, counts)[0])
    halves = split_half_bucket_waste(values[present], sample[present], plan.k, seed=seed)
    low, high = np.quantile(halves, [0.025, 0.975])
    return bool(low <= on_all <= high)


@pytest.mark.parametrize("rows", SIZES)
def test_intervals_cover_the_full_data(full: ShapeProfile, rows: int) -> None:
    achieved = coverage(full, rows)
    print(f"coverage at {rows} rows:", {k: round(v, 3) for k, v in achieved.items()})
    assert set(achieved) == {*(f"p{q}" for q in QUANTILES), *POLICIES, "all padding", "buckets"}
    low = {k: v for k, v in achieved.items() if v < 0.95}
    assert not low, f"below 95% at {rows} rows: {low}"


def test_a_sample_profile_states_its_methods(full: ShapeProfile) -> None:
    """The same machinery through the profile: a 1,000-row profile's intervals hold the full
    data's percentiles and say how they were computed."""
    values, counts = as_arrays(full.length_counts())
    sample = np.random.default_rng(7).multivariate_hypergeometric(counts, 1000)
    sampled = dict(zip(values[sample > 0].tolist(), sample[sample > 0].tolist()))
    from shapeprof.profile.uncertainty import profile_uncertainty

    sure = profile_uncertainty({"sequence_length": sampled}, 67_349, sampled, full.padding,
                               bucket_plan(sampled, None, 32).k, full.model.max_length)
    assert sure.sampled and sure.population == 67_349 and sure.rows == 1000
    data = sure.to_dict()
    assert "order-statistic" in data["percentile_method"] and "studentized" in data["waste_method"]
    assert {w.label for w in full.padding} == set(sure.waste)
    assert all(sure.percentile("sequence_length", f"p{q}").contains(full.sequence.p(q)) for q in QUANTILES)
    needed = sure.rows_for_p99["sequence_length"]
    assert needed is not None and 1000 < needed <= 67_349

