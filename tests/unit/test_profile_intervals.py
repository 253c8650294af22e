"""Intervals of a sampled profile: order-statistic bounds, rows for p99 within +-1 token, the
waste bootstrap, and how a profile stores and prints them."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from shapeprof.profile import ShapeProfile, bucket_plan, optimal_edges, padded_tokens, profile_dataset
from shapeprof.profile.bootstrap import edge_waste, fitted_edges, resample, split_half_bucket_waste
from shapeprof.profile.intervals import (Interval, percentile_interval, rank_bounds, rows_for_width,
                                         width_at)
from shapeprof.profile.padding import InBatchPadding, fixed_padding
from shapeprof.profile.stats import as_arrays, percentile_from_counts
from shapeprof.testing.plain_waste import in_batch_waste, per_row_waste
from shapeprof.profile.uncertainty import Uncertainty, axes_uncertainty

KNOWN = [3, 5, 5, 7, 8, 8, 8, 12, 20, 41]


# ---- order-statistic bounds ---------------------------------------------------------------------

def test_median_of_ten_is_bracketed_by_the_second_and_ninth_rows():
    """The textbook case: P(B <= 1) = 11/1024 <= 2.5% < P(B <= 2) for B ~ Binomial(10, 1/2)."""
    assert rank_bounds(10, 0.5) == (2, 9)
    values, counts = as_arrays(Counter(KNOWN))
    assert percentile_interval(values, counts, 50) == Interval(5.0, 20.0)


@pytest.mark.parametrize("n", [1, 7, 40, 300, 5000])
@pytest.mark.parametrize("q", [0.5, 0.9, 0.99])
@pytest.mark.parametrize("population", [None, 5000, 100_000])
def test_rank_bounds_hold_at_least_95_percent_on_each_side(n, q, population):
    if population is not None and population < n:
        pytest.skip("a sample cannot outnumber its population")
    low, high = rank_bounds(n, q, population)
    if population is None:
        law = stats.binom(n, q)
    else:
        law = stats.hypergeom(population, math.floor((population - 1) * q) + 1, n)
    assert law.cdf(low - 1) <= 0.025 + 1e-12                 # x_(low) above it: at most 2.5%
    assert law.cdf(high - 1) >= 0.975 - 1e-12                # x_(high) below it: at most 2.5%
    assert 0 <= low < high <= n + 1
    if 1 <= low:                                             # and no tighter rank would do
        assert law.cdf(low) > 0.025 - 1e-12


def test_one_row_bounds_nothing_and_open_sides_are_none():
    assert rank_bounds(1, 0.5) == (0, 2)
    interval = percentile_interval(np.array([4]), np.array([1]), 50)
    assert interval == Interval(None, None) and interval.width == math.inf
    assert interval.contains(1e9) and interval.text() == "[?, ?]"
    p99 = percentile_interval(np.array([2, 9]), np.array([50, 50]), 99)    # 100 rows: no upper bound
    assert p99.low is not None and p99.high is None


def test_all_rows_leave_the_two_ranks_around_the_percentile():
    values, counts = as_arrays(Counter(KNOWN))
    ordered = sorted(KNOWN)
    for q in (50, 90, 99):
        interval = percentile_interval(values, counts, q, population=len(KNOWN))
        rank = math.floor((len(KNOWN) - 1) * q / 100)          # 0-based rank below the percentile
        assert (interval.low, interval.high) == (ordered[rank], ordered[rank + 1])
        assert interval.contains(percentile_from_counts(values, counts, q))


@pytest.mark.parametrize("q", [50, 90, 99])
def test_intervals_narrow_as_the_sample_grows(q):
    values = np.arange(2, 202)
    widths = [percentile_interval(values, np.full(200, n // 200), q).width for n in (400, 2000, 20_000, 200_000)]
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1]
    population = 400_000                   # a sample of half the data is tighter than of an infinite one
    half = percentile_interval(values, np.full(200, 1000), q, population)
    assert half.width <= percentile_interval(values, np.full(200, 1000), q).width


def test_coverage_on_a_known_population():
    """Small samples from a skewed population: the p50/p90 intervals hold the population's value."""
    rng = np.random.default_rng(0)
    population = np.bincount(np.minimum(rng.geometric(0.08, 20_000) + 2, 120))
    values, counts = np.flatnonzero(population), population[population > 0]
    truth = {q: percentile_from_counts(values, counts, q) for q in (50, 90)}
    hits = Counter()
    for _ in range(300):
        sample = rng.multivariate_hypergeometric(counts, 60)
        keep = sample > 0
        for q in truth:
            hits[q] += percentile_interval(values[keep], sample[keep], q, 20_000).contains(truth[q])
    assert all(h / 300 >= 0.95 for h in hits.values()), hits


# ---- rows for p99 within +-1 token ---------------------------------------------------------------

def test_one_length_needs_just_enough_rows_to_bound_p99():
    """Every row 7 tokens: any bounded interval has width 0; p99 is bounded above once
    P(all n rows below it) = 0.99^n <= 2.5%."""
    needed = rows_for_width(np.array([7]), np.array([500]), 99)
    assert needed == math.ceil(math.log(0.025) / math.log(0.99)) == 368


def test_rows_needed_is_the_boundary_of_the_width_search():
    rng = np.random.default_rng(3)
    values, counts = as_arrays(Counter(np.minimum(rng.geometric(0.05, 3000) + 2, 300).tolist()))
    needed = rows_for_width(values, counts, 99)
    assert needed is not None and needed > int(counts.sum())          # 3,000 rows are not enough
    assert width_at(values, counts, 99, needed) <= 2 < width_at(values, counts, 99, needed - 1)
    within = rows_for_width(values, counts, 99, population=20_000)
    assert within is not None and within <= 20_000


def test_rows_needed_stops_at_the_population():
    """Sparse tail: no sample short of all rows gets p99 within +-1; all rows are exact."""
    values, counts = np.array([1, 50, 100, 150]), np.array([96, 2, 1, 1])
    assert rows_for_width(values, counts, 99, population=150) == 150


# ---- the waste bootstrap -------------------------------------------------------------------------

def test_resampling_keeps_the_rows_and_the_seed():
    counts = np.array([5, 10, 85])
    draws = resample(counts, reps=50, seed=1)
    assert draws.shape == (50, 3) and set(draws.sum(axis=1)) == {100}
    assert np.array_equal(draws, resample(counts, reps=50, seed=1))
    assert not np.array_equal(draws, resample(counts, reps=50, seed=2))


def test_the_statistics_agree_with_the_padding_report_on_the_sample_itself():
    values, counts = as_arrays(Counter(KNOWN * 3))
    fixed = fixed_padding(dict(zip(values.tolist(), counts.tolist())), 16, "fixed")
    assert per_row_waste(counts[None, :], values, np.full(len(values), 16))[0] == pytest.approx(fixed.waste)
    edges = [5, 8, 41]
    real = int((values * counts).sum())
    assert edge_waste(np.array([edges], float), values, counts)[0] == pytest.approx(
        padded_tokens(values, counts, edges) / real)


def test_random_batches_pad_to_the_expected_longest_row():
    values = np.array([1, 3])
    # two rows: the longest is 3 unless both are 1 (1/4): E[max] = 2.5, mean 2 -> waste 0.25
    assert in_batch_waste(np.array([[5, 5]]), values, 2)[0] == pytest.approx(0.25)
    assert in_batch_waste(np.array([[5, 5]]), values, 1)[0] == 0.0
    assert in_batch_waste(np.array([[5, 5]]), values, 2, multiple=8, cap=4)[0] == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    rows = rng.choice(np.arange(3, 60), size=64_000, p=np.linspace(2, 1, 57) / np.linspace(2, 1, 57).sum())
    batches = InBatchPadding(16)
    batches.add(rows)
    padded, real = batches.finish()
    v, c = as_arrays(Counter(rows.tolist()))
    assert in_batch_waste(c[None, :], v, 16)[0] == pytest.approx(padded / real, rel=0.01)


def test_vectorised_bucket_fit_matches_the_dynamic_programme():
    rng = np.random.default_rng(5)
    for trial in range(20):
        values = np.sort(rng.choice(np.arange(2, 90), size=rng.integers(2, 30), replace=False))
        draws = rng.integers(0, 6, size=(4, len(values)))
        draws[:, -1] += 1
        for k in (1, 3, 8):
            fitted = fitted_edges(draws, values.astype(float), k)
            for d, edges in zip(draws, fitted):
                keep = d > 0
                best = optimal_edges(values[keep], d[keep], k)[-1]
                mine = sorted({int(e) for e in edges if e > 0})
                assert padded_tokens(values[keep], d[keep], mine) == best[1], (trial, k)


def test_split_halves_bracket_the_waste_on_fresh_rows():
    rng = np.random.default_rng(2)
    lengths = np.minimum(rng.geometric(0.06, 200_000) + 2, 200)
    values, counts = as_arrays(Counter(lengths.tolist()))
    sample = rng.multivariate_hypergeometric(counts, 2000)
    keep = sample > 0
    plan = bucket_plan(dict(zip(values[keep].tolist(), sample[keep].tolist())), 4)
    halves = split_half_bucket_waste(values[keep].astype(float), sample[keep], 4, seed=0)
    on_all = edge_waste(np.array([plan.edges], float), values, counts)[0]
    assert np.quantile(halves, 0.025) <= on_all <= np.quantile(halves, 0.975)
    assert plan.waste < on_all                           # the sample flatters its own edges


# ---- the profile's record --------------------------------------------------------------------

def test_exact_sample_and_unknown_round_trip():
    axes = {"sequence_length": Counter(KNOWN * 20)}
    exact = axes_uncertainty(axes, population=200)
    assert exact.status == "exact" and exact.percentiles == {}
    assert Uncertainty.from_dict(exact.to_dict()) == exact and "exact" in exact.to_dict()["note"]
    sample = axes_uncertainty(axes, population=5000)
    assert sample.sampled and set(sample.percentiles["sequence_length"]) == {"p50", "p90", "p95", "p99"}
    data = json.loads(json.dumps(sample.to_dict()))
    assert Uncertainty.from_dict({**data, "from_another_stage": 1}) == sample
    unknown = axes_uncertainty(axes, population=None)             # a stream of unknown size: binomial
    assert unknown.sampled and unknown.population is None
    assert Uncertainty.from_dict(None).status == "unknown"
    assert Uncertainty.from_dict({"status": "made-up"}).status == "unknown"


@pytest.fixture(scope="module")
def sampled(glue_dir, gpt2_dir) -> ShapeProfile:
    return profile_dataset(gpt2_dir, "glue", data_dir=glue_dir, rows=300, batch_sizes=(1, 8),
                           progress=False)


def test_a_sampled_profile_stores_and_prints_its_intervals(sampled, tmp_path):
    sure = sampled.uncertainty
    assert sure.sampled and (sure.rows, sure.population) == (300, 872)
    for q in (50, 90, 95, 99):
        assert sure.percentile("sequence_length", f"p{q}").contains(sampled.sequence.p(q))
    assert set(sure.waste) == {w.label for w in sampled.padding}
    assert sure.buckets is not None and sure.waste["buckets"] == sure.buckets
    loaded = ShapeProfile.load(sampled.save(tmp_path / "p.json"))
    assert loaded.uncertainty == sure
    text = sampled.summary()
    assert "how sure: a sample of 300 of 872 rows; 95% intervals" in text
    assert "order-statistic" in text and "bootstrap" in text and "random halves" in text
    assert "95% interval" in text and "p99 within +-1 token: " in text
    p50 = sure.percentile("sequence_length", "p50")
    assert f"{p50.low:g}-{p50.high:g}" in text


def test_a_profile_of_every_row_says_exact(glue_dir, gpt2_dir):
    profile = profile_dataset(gpt2_dir, "glue/wnli", data_dir=glue_dir, batch_sizes=(1, 8), progress=False)
    assert profile.uncertainty.status == "exact" and profile.uncertainty.rows == 71
    text = profile.summary()
    assert "values are exact, no interval" in text and "95% interval [" not in text
    assert profile.to_dict()["uncertainty"]["status"] == "exact"


def test_an_image_profile_prints_its_intervals_next_to_the_percentiles():
    from shapeprof.profile.media import MediaProfile
    from shapeprof.profile.stats import axis_stats

    counts = {"height": Counter({224: 40}), "source_height": Counter({480: 25, 375: 10, 612: 5})}
    axes = {"height": axis_stats("height", counts["height"])}
    raw = {"source_height": axis_stats("source_height", counts["source_height"])}
    dataset = {"description": "image folder images/", "samples_total": 400, "rows_sampled": 40}
    model = {"name_or_path": "tiny-vit", "processor_class": "ViTImageProcessor"}
    sure = axes_uncertainty(counts, 400)
    profile = MediaProfile("image", dataset, model, (1, 8), axes, raw, uncertainty=sure)
    p50 = sure.percentile("source_height", "p50")
    assert p50 == Interval(480.0, 480.0) and sure.percentile("height", "p99") == Interval(224.0, None)
    text = profile.summary()
    assert "| source_height (source) | 375 | 480 [480, 480] |" in text
    assert "how sure: a sample of 40 of 400" in text and "order-statistic" in text
    assert MediaProfile.from_dict(json.loads(json.dumps(profile.to_dict()))).uncertainty == sure
    print(text)


def test_rows_needed_in_words():
    tail = Counter({5: 90, 9: 8, 30: 2})                      # 100 rows: p99 not bounded above
    small = axes_uncertainty({"sequence_length": tail}, population=10_000)
    assert small.rows_needed("sequence_length").startswith("at least ")
    assert "100 cannot bound p99 yet" in small.rows_needed("sequence_length")
    flat = axes_uncertainty({"sequence_length": Counter({7: 900})}, population=None)
    assert flat.rows_needed("sequence_length") == "about 368 rows (this sample already does)"
    finite = axes_uncertainty({"sequence_length": Counter({7: 900})}, population=10_000)
    assert finite.rows_for_p99["sequence_length"] < 368     # without replacement: a little fewer
    sparse = axes_uncertainty({"sequence_length": Counter({1: 600, 60: 3, 90: 3, 150: 3})}, population=1000)
    assert sparse.rows_needed("sequence_length") == "all 1,000 rows (exact values)"


def test_studentized_moments_match_the_waste_and_its_spread() -> None:
    """The delta-method pieces: the same waste as the plain formulas, a standard error that
    matches the spread of real resamples, and batching noise that matches random orders."""
    from shapeprof.profile.studentized import batching_sd, in_batch_moments, per_row_moments

    rng = np.random.default_rng(3)
    values, counts = np.arange(2, 40), rng.integers(1, 60, size=38)
    theta, _ = per_row_moments(counts[None, :], values, 32)
    assert theta[0] == pytest.approx(per_row_waste(counts[None, :], values, np.full(38, 32))[0])
    theta, se = in_batch_moments(counts[None, :], values, 8, 8, 36)
    assert theta[0] == pytest.approx(in_batch_waste(counts[None, :], values, 8, 8, 36)[0])
    redraws = rng.multinomial(400, counts / counts.sum(), size=2000)
    spread = in_batch_moments(redraws, values, 8, 8, 36)[0].std()
    assert se[0] * np.sqrt(counts.sum() / 400) == pytest.approx(spread, rel=0.15)   # se is for n rows
    rows = np.repeat(values, counts)
    batched = [(lambda b: (b.max(1)[:, None] - b).sum() / b.sum())(rng.permutation(rows)[:len(rows) // 8 * 8]
                                                                    .reshape(-1, 8)) for _ in range(300)]
    assert batching_sd(counts, values, 8, 1, None, len(rows)) == pytest.approx(np.std(batched), rel=0.25)
    assert batching_sd(counts, values, 1, 1, None, len(rows)) == 0.0
