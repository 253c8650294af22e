"""How well a sampled profile's intervals hold, past the 200 repetitions of the unit test;
prints figures, asserts nothing.

SST-2 train (67,349 rows) is tokenized once with the embedded all-MiniLM-L6-v2; samples are
drawn from its histogram without replacement, as ``--rows N`` draws rows.

1. Coverage of the padding-waste intervals, every policy the profile reports, over
   --repetitions samples of each size in --rows: the share of intervals holding the full data's
   waste, and their median width, before (percentile bootstrap) and after (studentized,
   simultaneous over the policies), on the same samples.
2. The rows-for-p99 estimate from --estimates samples of 1,000, 2,000 and 10,000 rows (median
   and range), and the share of real samples of each size in --sizes whose p99 interval spans
   at most 2 tokens.

    nice .venv/bin/python benchmarks/profile_intervals.py [--data-dir ../shared/data/glue]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def full_profile(glue: Path):
    from shapeprof.profile import profile_dataset

    return profile_dataset(None, "glue", data_dir=glue, split="train", progress=False)


def waste_coverage(profile, rows: int, repetitions: int) -> None:
    """Per policy: coverage and median width of the old per-policy percentile bootstrap and of the
    simultaneous studentized intervals the profile reports, on the same samples and redraws."""
    from shapeprof.profile.bootstrap import percentile_bounds, resample
    from shapeprof.testing.plain_waste import fixed_targets, in_batch_waste, per_row_waste
    from shapeprof.profile.stats import as_arrays
    from shapeprof.profile.uncertainty import IN_BATCH_MULTIPLE, joint_confidence, waste_interval

    values, counts = as_arrays(profile.length_counts())
    population, cap = int(counts.sum()), profile.model.max_length
    policies = [w for w in profile.padding if w.policy != "buckets"]
    level = joint_confidence(profile.padding)
    rng = np.random.default_rng(99 + rows)
    hits = {(w.label, m): [] for w in policies for m in ("old", "new")}
    widths = {key: [] for key in hits}
    joint = []
    for rep in range(repetitions):
        sample = rng.multivariate_hypergeometric(counts, rows)
        keep = sample > 0
        v, s = values[keep], sample[keep]
        draws = resample(s, seed=rep)
        for w in policies:
            old = percentile_bounds(per_row_waste(draws, v, fixed_targets(v, w.pad_to)) if w.pad_to
                                    else in_batch_waste(draws, v, w.batch_size, IN_BATCH_MULTIPLE[w.policy], cap))
            new = waste_interval(w, draws, v, s, cap, population, level)
            for name, interval in (("old", old), ("new", new)):
                hits[w.label, name].append(interval.contains(w.waste))
                widths[w.label, name].append(interval.width)
        joint.append(all(hits[w.label, "new"][-1] for w in policies))
    print(f"padding waste over {repetitions:,} samples of {rows:,} rows (coverage, median width; "
          f"before: percentile bootstrap at 95% each; after: studentized, {level:.2%} each):")
    for w in policies:
        print(f"  {w.label:26s} before {np.mean(hits[w.label, 'old']):6.1%} {np.median(widths[w.label, 'old']):8.4g}"
              f"   after {np.mean(hits[w.label, 'new']):6.1%} {np.median(widths[w.label, 'new']):8.4g}")
    print(f"  all policies at once (after): {np.mean(joint):.1%}")


def rows_for_p99(profile, estimates: int, sizes: list[int]) -> None:
    from shapeprof.profile.intervals import percentile_interval, rows_for_width
    from shapeprof.profile.stats import as_arrays

    values, counts = as_arrays(profile.length_counts())
    population = int(counts.sum())
    rng = np.random.default_rng(0)
    for rows in (1_000, 2_000, 10_000):
        found = []
        for _ in range(estimates):
            sample = rng.multivariate_hypergeometric(counts, rows)
            keep = sample > 0
            found.append(rows_for_width(values[keep], sample[keep], 99, population=population))
        print(f"  from {rows:,}-row samples: median {int(np.median(found)):,}, "
              f"range {min(found):,}-{max(found):,}")
    for rows in sizes:
        widths = []
        for _ in range(50):
            sample = rng.multivariate_hypergeometric(counts, rows)
            keep = sample > 0
            widths.append(percentile_interval(values[keep], sample[keep], 99, population).width)
        print(f"  {rows:,} rows: p99 interval spans <= 2 tokens in {np.mean(np.array(widths) <= 2):.0%} "
              f"of 50 samples (median width {np.median(widths):g})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "glue")
    parser.add_argument("--rows", type=lambda t: [int(v) for v in t.split(",")], default=[1000, 10000])
    parser.add_argument("--repetitions", type=int, default=1000)
    parser.add_argument("--estimates", type=int, default=20)
    parser.add_argument("--sizes", type=lambda t: [int(v) for v in t.split(",")],
                        default=[3000, 5000, 8000, 12000, 20000])
    args = parser.parse_args()
    profile = full_profile(args.data_dir)
    print(f"SST-2 train: {profile.dataset.rows_sampled:,} rows; p99 {profile.sequence.p(99):g}")
    for rows in args.rows:
        waste_coverage(profile, rows, args.repetitions)
    print("rows for p99 within +-1 token:")
    rows_for_p99(profile, args.estimates, args.sizes)


if __name__ == "__main__":
    main()
