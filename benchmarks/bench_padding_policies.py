"""Expected throughput per padding policy on SST-2 dev, and the prediction checked by replay.

    .venv/bin/python benchmarks/bench_padding_policies.py [--quick] [--batch-size 32] [--replay 512]

Profiles SST-2 dev with the model's tokenizer, times the cells the profile chooses (quantiles,
extremes, recommended bucket edges, and 128) at batch 1 and B, then gives the expected throughput
at batch B for the recommended buckets, pad-to-128, pad-to-longest (data order) and
length-sorted batches, and replays ``--replay`` rows under each policy inside the measurement
rounds: predicted vs measured, and the replay vs the same shapes' cells timed side by side.
"""

from __future__ import annotations

import argparse

from bench_common import GLUE_DIR, add_common_args, model_dirs, save, timing

POLICIES = ("buckets", "pad:128", "longest", "sorted", "data_max")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    # more, shorter rounds than the other scripts: the cells and the replay passes spread over
    # them are then sampled at more moments, so a shared machine's drift averages out alike,
    # and the error paired by round has more pairs
    parser.set_defaults(rounds=8, min_samples=5, min_time=0.3, warmup=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--replay", type=int, default=512, help="rows replayed per policy")
    parser.add_argument("--replay-repeats", type=int, default=1,
                        help="replay passes per policy in every measurement round (default 1)")
    parser.add_argument("--variants", default="onnx")
    args = parser.parse_args()

    from shapeprof.bench import BenchOptions, run_benchmark
    from shapeprof.profile import profile_dataset

    model_dir, torch_dir = model_dirs(args)
    profile = profile_dataset(model_dir, "glue", data_dir=GLUE_DIR, batch_sizes=(1, args.batch_size),
                              progress=False)
    print(f"profile: {profile.sequence.rows} rows, p50 {profile.sequence.p(50):g}, "
          f"p99 {profile.sequence.p(99):g}, max {profile.sequence.max}; buckets {profile.buckets.edges}")
    results = run_benchmark(model_dir, profile, BenchOptions(
        batch_sizes=[1, args.batch_size], policies=POLICIES, policy_batch_size=args.batch_size,
        variants=tuple(args.variants.split(",")), torch_model=torch_dir, intra_op_threads=args.threads,
        replay_rows=min(args.replay, 64) if args.quick else args.replay,
        replay_repeats=1 if args.quick else args.replay_repeats, **timing(args)))
    print(results.summary())
    exp = results.expected_frame()
    onnx = exp[exp.variant == results.settings["variants"][0]].set_index("policy")
    base = onnx.loc["pad:128", "sequences_per_s"]
    print(f"\n### Throughput at batch {args.batch_size} relative to pad-to-128")
    for policy, row in onnx.iterrows():
        print(f"- {row.label}: {row.sequences_per_s:,.0f} seq/s ({row.sequences_per_s / base:.2f}x)")
    rep = results.replay_frame()
    if not rep.empty:
        print(f"\nreplay: mean |error| {rep.error.abs().mean():.1%}, worst {rep.error.abs().max():.1%}; "
              f"vs the same shapes' cells timed side by side: mean {rep.side_by_side_error.abs().mean():.1%}, "
              f"worst {rep.side_by_side_error.abs().max():.1%}")
        paired = rep.dropna(subset=["round_error"])
        if not paired.empty:
            print(f"error paired by round: mean |error| {paired.round_error.abs().mean():.1%}, worst "
                  f"{paired.round_error.abs().max():.1%}; 95% intervals within "
                  f"[{paired.round_error_low.min():+.1%}, {paired.round_error_high.max():+.1%}]")
    save(results, args, "padding_policies.json")


if __name__ == "__main__":
    main()
