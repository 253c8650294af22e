"""``shapeprof export``: model (+ dataset profile) -> verified ONNX directory."""

from __future__ import annotations

import argparse
import math
from typing import Any

from ._args import non_negative_float, non_negative_int, positive_int
from ._chat import add_chat_arguments, chat_options
from ._data import add_data_arguments
from ._engine import add_engine_arguments, engine_options

GRIDS = ("quick", "full")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("export", help="export a model to ONNX and verify it against PyTorch")
    p.add_argument("output_dir", metavar="OUTPUT_DIR", nargs="?", default=None,
                   help="directory to create (model.onnx, config, tokenizer, reports); required")
    p.add_argument("--model", "-m", default=None,
                   help="local model directory or Hub id (default: the embedded all-MiniLM-L6-v2)")
    p.add_argument("--task", "-t", default=None, help="task (default: inferred from the model's config)")
    p.add_argument("--config", choices=("registered", "auto"), default=None,
                   help="ONNX config: 'registered' (the architecture's row) or 'auto' (derived from the "
                        "model: inputs, axes, cache probed; see 'shapeprof list') (default: registered "
                        "when the model type has one, else derived)")
    p.add_argument("--opset", type=positive_int, default=None, help="ONNX opset (default: the config's, 18)")
    p.add_argument("--atol", type=non_negative_float, default=None, help="absolute tolerance of the verification")
    p.add_argument("--rtol", type=non_negative_float, default=None, help="relative tolerance of the verification")
    p.add_argument("--allow-mismatch", action="store_true",
                   help="keep the model when verification fails (it is reported, not fatal)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty OUTPUT_DIR")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="allow the model's own Python code from the Hub (off by default)")
    data = p.add_argument_group("dataset-driven export (profile real data to choose shapes)")
    data.add_argument("--dataset", "-d", default=None,
                      help="profile this dataset and export at its shapes: glue (SST-2), glue/<task>, "
                           "a Hub dataset id, or a data file (default: none, the seed's dummy shapes)")
    add_data_arguments(data)
    add_chat_arguments(data)
    add_engine_arguments(data)
    data.add_argument("--dynamic-range", choices=("model", "data"), default="model",
                      help="sequence range of the export: up to the model's limit, or the data's "
                           "min..max (default: model)")
    data.add_argument("--bench", nargs="?", const="quick", default=None, metavar="quick|full",
                      help="benchmark the export in onnxruntime afterwards. quick (the default of a "
                           "bare --bench, about a minute): the cells the expected throughput per "
                           "padding policy needs at the policy batch size, onnxruntime vs PyTorch at "
                           "the median length, 3 rounds with intervals; full: the profile's whole "
                           "batch x length grid, 5 rounds")
    data.add_argument("--bench-variants", default="onnx,optimized",
                      help="variants --bench times: onnx, optimized, int8, optimized-int8 "
                           "(default: onnx,optimized)")
    data.add_argument("--replay", type=non_negative_int, default=0, metavar="ROWS",
                      help="with --bench: replay ROWS real rows (a decoder with past: real requests "
                           "through prefill and decode) and compare with the prediction (default: 0)")
    data.add_argument("--quiet", "-q", "--no-progress", dest="quiet", action="store_true",
                      help="no progress output (stderr carries errors only)")
    add_tune_group(p)
    p.set_defaults(run=run)


def add_tune_group(p: Any) -> None:
    """``--tune``: after the export, ``shapeprof tune`` on it into OUTPUT_DIR/tune/."""
    from ._args import positive_float
    from .tune import add_tune_arguments

    group = p.add_argument_group("tuned export (see 'shapeprof tune --help')")
    group.add_argument("--tune", action="store_true",
                       help="with --dataset: choose the fastest deployment that keeps accuracy and prove "
                            "it by replay; writes OUTPUT_DIR/tune/ (tune.json, deploy.json, serve.py, ...)")
    slo = group.add_mutually_exclusive_group()
    slo.add_argument("--slo-ms", type=positive_float, default=None, help="tune: median ms per batch at most")
    slo.add_argument("--slo-p99-ms", type=positive_float, default=None, help="tune: p99 ms per batch at most")
    add_tune_arguments(group)


def run(args: argparse.Namespace) -> int:
    from ..errors import ExportError
    from ..export.pipeline import export
    from ..default_model import default_model_dir
    from . import quiet_libraries

    resolve_bench(args)
    if args.replay and not args.bench:
        raise ExportError("--replay needs --bench (it checks the benchmark's prediction); add --bench")
    if chat_options(args) and args.dataset is None:
        raise ExportError("--prompt-columns, --completion-column and --chat-template describe a chat "
                          "dataset; give it with --dataset")
    engine_options(args)   # Ray options without --engine ray: a usage error before any work
    if args.engine == "ray" and args.dataset is None:
        raise ExportError("--engine ray profiles a dataset; add --dataset (or drop --engine)")
    if args.bench and args.dataset is None:
        raise ExportError("--bench needs --dataset (the benchmark sweeps the data's shapes); "
                          "or run 'shapeprof bench OUTPUT_DIR' after exporting")
    if args.tune and args.dataset is None:
        raise ExportError("--tune needs --dataset (tune chooses on the data's rows); or run "
                          "'shapeprof tune OUTPUT_DIR --profile P -o DIR' after exporting")
    model = args.model if args.model is not None else default_model_dir()
    check_inputs(args, model)
    quiet_libraries()
    if args.dataset is not None:
        return run_with_dataset(args)
    result = export(model, args.output_dir, task=args.task, opset=args.opset, atol=args.atol,
                    rtol=args.rtol, strict=not args.allow_mismatch, overwrite=args.overwrite,
                    trust_remote_code=args.trust_remote_code, progress=not args.quiet,
                    config=args.config)
    print(summary(result))
    return 0 if result.verification.passed else 1


def resolve_bench(args: argparse.Namespace) -> None:
    """``--bench OUT`` (a bare --bench before OUTPUT_DIR) reads as ``--bench quick OUT``."""
    from ..errors import ExportError

    if args.bench is not None and args.bench not in GRIDS:
        if args.output_dir is not None:
            raise ExportError(f"--bench takes quick or full, not {args.bench!r}")
        args.output_dir, args.bench = args.bench, "quick"
    if args.output_dir is None:
        raise ExportError("OUTPUT_DIR is missing; give the directory to create, e.g. 'shapeprof export "
                          "--dataset glue --bench out/'")


def check_inputs(args: argparse.Namespace, model: Any) -> None:
    """Everything checkable before loading anything heavy: opset, output, weights, tokenizer."""
    from pathlib import Path

    from ..atomic import check_output_dir
    from ..errors import ExportError
    from ..export.plan import check_opset
    from ..loading import check_weights, require_preprocessor_files

    if args.opset is not None:
        check_opset(args.opset, args.opset)
    if not args.output_dir.strip():
        raise ExportError("OUTPUT_DIR is empty; give the directory to create")
    check_output_dir(Path(args.output_dir), args.overwrite, ExportError)
    check_weights(model)
    if args.dataset is not None:
        require_preprocessor_files(model)
        if args.bench:
            check_variants([v.strip() for v in args.bench_variants.split(",") if v.strip()])


def check_variants(names: list[str]) -> None:
    from ..bench.variants import VARIANTS
    from ..errors import ExportError

    unknown = [n for n in names if n not in VARIANTS]
    if unknown or not names:
        raise ExportError(f"--bench-variants: unknown {', '.join(map(repr, unknown)) or 'empty list'}; "
                          f"choose from {', '.join(VARIANTS)}")


def run_with_dataset(args: argparse.Namespace) -> int:
    import time

    from ..bench.options import BenchOptions, split_names
    from ..export.profiled import export_with_profile

    start = time.perf_counter()
    options = dict(data_dir=args.data_dir, data_files=args.data_files, split=args.split,
                   text_columns=args.text_columns, rows=args.rows, seed=args.seed,
                   **chat_options(args), **engine_options(args))
    variants = split_names(args.bench_variants, "--bench-variants")
    tune_options = tune_options_of(args)
    bench_options = (BenchOptions.quick(variants=variants, replay_rows=args.replay) if args.bench == "quick"
                     else BenchOptions(variants=variants, replay_rows=args.replay))
    done = export_with_profile(args.output_dir, args.model, args.dataset, args.task, args.opset,
                               profile_options=options, dynamic_range=args.dynamic_range,
                               bench=args.bench is not None, bench_options=bench_options, atol=args.atol,
                               rtol=args.rtol, strict=not args.allow_mismatch, overwrite=args.overwrite,
                               trust_remote_code=args.trust_remote_code, progress=not args.quiet,
                               config=args.config, tune=tune_options)
    print(closing_summary(done, args.bench, time.perf_counter() - start))
    if done.tune is not None:
        from .tune import exit_status

        return max(exit_status(done.tune), 0 if done.export.verification.passed else 1)
    return 0 if done.export.verification.passed else 1


def tune_options_of(args: argparse.Namespace) -> Any:
    """The tune options of ``--tune`` (checked now, before anything is loaded), else None."""
    if not args.tune:
        return None
    from .tune import options_from

    return options_from(args)


def summary(result: Any) -> str:
    where = (f"{result.output_dir}/{{{', '.join(p.file for p in result.parts)}}}" if len(result.parts) > 1
             else str(result.onnx_path))
    origin = " with a derived config" if getattr(result, "config", "registered") == "derived" else ""
    lines = [f"exported {result.model_type}{origin} ({result.task}, opset {result.opset}) "
             f"to {where} in {result.export_seconds:.1f} s",
             "", result.verification.table(), ""]
    lines += [f"generation ({c.label}): {c.matching_tokens}/{c.new_tokens} greedy tokens match "
              f"transformers' generate" for c in result.generation]
    lines += [f"note: {n}" for n in result.notes]
    verdict = "passed" if result.verification.passed else "FAILED"
    lines.append(f"verification {verdict} (atol {result.verification.atol:g}, rtol {result.verification.rtol:g})")
    return "\n".join(lines)


# ---- the closing summary of export --dataset (at most 15 lines) --------------------------------
def closing_summary(done: Any, grid: str | None, seconds: float) -> str:
    """What was exported and verified, the data's shape, the recommended batching against padding
    to 128 and to the longest row, onnxruntime against PyTorch, and where the files are."""
    result = done.export
    lines = [f"exported: {result.model_type} ({result.task}, opset {result.opset}) to "
             f"{result.onnx_path} in {result.export_seconds:.1f} s",
             verified_line(result.verification), data_line(done.profile)]
    if done.bench is not None:
        lines += bench_lines(done.bench)
    lines += [f"note: {n}" for n in result.notes]
    lines += files_lines(result, done.bench is not None)
    if getattr(done, "tune", None) is not None:
        lines += tune_lines(done.tune, result.output_dir)
    took = f"{int(seconds // 60)} min {seconds % 60:.0f} s"
    how = {"quick": "; quick bench (--bench full for the whole grid)", "full": "; full bench grid"}
    lines.append(f"took: {took}{how.get(grid or '', '')}")
    return "\n".join(lines)


def verified_line(report: Any) -> str:
    real = sum(c.source == "data" for c in report.checks)
    worst = max((o.max_abs_diff for c in report.checks for o in c.outputs), default=0.0)
    verdict = "matches PyTorch" if report.passed else "DIFFERS from PyTorch"
    return (f"verified: onnxruntime {verdict} on {len(report.checks)} shapes ({real} real-data batches): "
            f"max abs diff {worst:.1e} (atol {report.atol:g}, rtol {report.rtol:g})")


def data_line(profile: Any) -> str:
    """The data's shape: lengths and padding waste (text), else the profile's first line."""
    from ..profile.shape_profile import ShapeProfile

    if not isinstance(profile, ShapeProfile):
        return f"data: {profile.summary().splitlines()[0]}"
    spec, seq = profile.dataset.spec, profile.sequence
    split = f" [{spec.split}]" if spec.split else ""
    top = max(profile.batch_sizes)
    kept = [w for w in profile.padding if w.policy in ("fixed", "buckets")
            or (w.policy == "longest" and w.batch_size == top)]
    waste = ", ".join(f"{w.label} {w.waste:.2f}" for w in kept)
    new = profile.generation.new_tokens if profile.generation is not None else None
    completions = f"; new tokens p50 {new.p(50):.4g}, p99 {new.p(99):.4g}" if new is not None else ""
    return (f"data: {spec.name}{split}, {profile.dataset.rows_sampled:,} rows: {seq.min}..{seq.max} tokens, "
            f"p50 {seq.p(50):.4g}, p99 {seq.p(99):.4g}{completions}; padding waste (padded per real "
            f"token): {waste}")


def bench_lines(results: Any) -> list[str]:
    from ..bench.answer import against_pytorch, batching, verdict
    from ..bench.requests import closing_lines

    lines = closing_lines(results)
    answer = batching(results)
    if answer is not None:
        best = answer.best
        lines.append(f"batching: {best.label}, batch {best.batch_size}: {best.sequences_per_s:,.0f} seq/s "
                     f"expected on this data ({best.variant} in onnxruntime)")
        lines += [f"  vs {base.label} ({base.sequences_per_s:,.0f} seq/s): {verdict(s)}"
                  for base, s in answer.against]
    pairs = against_pytorch(results)
    if pairs:
        variant = answer.best.variant if answer is not None else pairs[0].variant
        median = math.ceil((results.settings.get("profile") or {}).get("p50") or 0)
        mine = [p for p in pairs if p.variant == variant]
        length = min({p.sequence_length for p in mine}, key=lambda n: abs(n - median))
        at = ", ".join(f"batch {p.batch_size} {verdict(p.speedup)}"
                       for p in sorted(mine, key=lambda p: -p.batch_size) if p.sequence_length == length)
        lines.append(f"runtime: onnxruntime ({variant}) vs PyTorch at length {length}: {at}")
    return lines


def tune_lines(tuned: Any, output_dir: Any) -> list[str]:
    """The tune's winner and proof, in at most three lines."""
    from pathlib import Path

    from ..layout import TUNE_DIR
    from ..tune.report import summary

    lines = summary(tuned, str(Path(output_dir) / TUNE_DIR)).splitlines()
    keep = [x for x in lines if x.startswith(("**", "proof", "FLAGGED", "files"))]
    return ["tune: " + x.strip("*").replace("**", "") for x in keep][:4]


def files_lines(result: Any, benched: bool) -> list[str]:
    from pathlib import Path

    from ..layout import BENCH_FILE, BENCH_SUMMARY, PROFILE_FILE, REPORT_HTML, VERIFICATION_FILE

    out = Path(result.output_dir)
    names = [p.file for p in result.parts] + [VERIFICATION_FILE, PROFILE_FILE]
    names += [BENCH_FILE, f"{BENCH_SUMMARY} (every cell, policy and interval)"] if benched else []
    lines = [f"files: {out}/: {', '.join(names)}"]
    if (out / REPORT_HTML).is_file():
        lines.append(f"report: {out / REPORT_HTML}")
    return lines
