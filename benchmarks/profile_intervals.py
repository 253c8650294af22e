"""How well a sampled profile's intervals hold, past the 200 repetitions of the unit test;
prints figures, asserts nothing.

SST-2 train (67,349 rows) is tokenized once with the embedded all-MiniLM-L6-v2; samples are
drawn from its histogram without replacement, as ``--rows N`` draws rows.

1. Bootstrap coverage of the padding waste (max_length, longest @ batch 8) over --repetitions
   samples of --rows rows: the share of 95% intervals holding the full data's waste.
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


def bootstrap_coverage(profile, rows: int, repetitions: int) -> dict[str, float]:
    from shapeprof.profile.bootstrap import resample
    from shapeprof.profile.stats import as_arrays
    from shapeprof.profile.uncertainty import waste_interval

    values, counts = as_arrays(profile.length_counts())
    policies = [w for w in profile.padding if w.label in ("max_length (512)", "longest @ batch 8")]
    rng = np.random.default_rng(99)
    hits = dict.fromkeys((w.label for w in policies), 0)
    for rep in range(repetitions):
        sample = rng.multivariate_hypergeometric(counts, rows)
        keep = sample > 0
        draws = resample(sample[keep], seed=rep)
        for w in policies:
            interval = waste_interval(w, draws, values[keep], profile.model.max_length)
            hits[w.label] += bool(interval is not None and interval.contains(w.waste))
    return {k: v / repetitions for k, v in hits.items()}


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
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repetitions", type=int, default=1500)
    parser.add_argument("--estimates", type=int, default=20)
    parser.add_argument("--sizes", type=lambda t: [int(v) for v in t.split(",")],
                        default=[3000, 5000, 8000, 12000, 20000])
    args = parser.parse_args()
    profile = full_profile(args.data_dir)
    print(f"SST-2 train: {profile.dataset.rows_sampled:,} rows; p99 {profile.sequence.p(99):g}")
    coverage = bootstrap_coverage(profile, args.rows, args.repetitions)
    print(f"bootstrap coverage over {args.repetitions:,} samples of {args.rows:,} rows: "
          + ", ".join(f"{k} {v:.1%}" for k, v in coverage.items()))
    print("rows for p99 within +-1 token:")
    rows_for_p99(profile, args.estimates, args.sizes)


if __name__ == "__main__":
    main()
