"""``shapeprof export``: model (+ dataset profile) -> verified ONNX directory."""

from __future__ import annotations

import argparse
from typing import Any

from ._args import non_negative_float, non_negative_int, positive_int


def add_parser(sub: Any) -> None:
    p = sub.add_parser("export", help="export a model to ONNX and verify it against PyTorch")
    p.add_argument("output_dir", metavar="OUTPUT_DIR", help="directory to create (model.onnx, config, tokenizer, reports)")
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
    data.add_argument("--dynamic-range", choices=("model", "data"), default="model",
                      help="sequence range of the export: up to the model's limit, or the data's "
                           "min..max (default: model)")
    data.add_argument("--bench", action="store_true",
                      help="benchmark the export in onnxruntime on the profile's grid afterwards")
    data.add_argument("--bench-variants", default="onnx,optimized",
                      help="variants --bench times: onnx, optimized, int8, optimized-int8 "
                           "(default: onnx,optimized)")
    data.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.set_defaults(run=run)


def add_data_arguments(group: Any) -> None:
    """Dataset options shared by ``export --dataset`` and ``profile``."""
    group.add_argument("--data-dir", default=None,
                       help="folder with GLUE files in GLUE layout (default: $SHAPEPROF_DATA_DIR, else the Hub)")
    group.add_argument("--data-files", nargs="+", default=None, metavar="FILE",
                       help="local csv/tsv/json/jsonl/parquet files")
    group.add_argument("--split", default=None, help="split to read (GLUE default: validation)")
    group.add_argument("--text-columns", default=None, metavar="A[,B]",
                       help="one text column or a pair (default: inferred from the schema)")
    group.add_argument("--rows", type=positive_int, default=None, help="rows to sample (default: all)")
    group.add_argument("--seed", type=non_negative_int, default=0, help="sampling seed (default: 0)")


def run(args: argparse.Namespace) -> int:
    from ..errors import ExportError
    from ..export.pipeline import export
    from ..default_model import default_model_dir
    from . import quiet_libraries

    if args.bench and args.dataset is None:
        raise ExportError("--bench needs --dataset (the benchmark sweeps the data's shapes); "
                          "or run 'shapeprof bench OUTPUT_DIR' after exporting")
    model = args.model if args.model is not None else default_model_dir()
    check_inputs(args, model)
    quiet_libraries()
    if args.dataset is not None:
        return run_with_dataset(args)
    result = export(model, args.output_dir, task=args.task, opset=args.opset, atol=args.atol,
                    rtol=args.rtol, strict=not args.allow_mismatch, overwrite=args.overwrite,
                    trust_remote_code=args.trust_remote_code, config=args.config)
    print(summary(result))
    return 0 if result.verification.passed else 1


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
    from ..bench.options import BenchOptions, split_names
    from ..export.profiled import export_with_profile
    from ..layout import BENCH_CSV, BENCH_FILE, BENCH_SUMMARY

    options = dict(data_dir=args.data_dir, data_files=args.data_files, split=args.split,
                   text_columns=args.text_columns, rows=args.rows, seed=args.seed)
    bench_options = BenchOptions(variants=split_names(args.bench_variants, "--bench-variants"),
                                 progress=not args.quiet)
    done = export_with_profile(args.output_dir, args.model, args.dataset, args.task, args.opset,
                               profile_options=options, dynamic_range=args.dynamic_range,
                               bench=args.bench, bench_options=bench_options, atol=args.atol,
                               rtol=args.rtol, strict=not args.allow_mismatch, overwrite=args.overwrite,
                               trust_remote_code=args.trust_remote_code, progress=not args.quiet,
                               config=args.config)
    print(done.profile.summary(), "", summary(done.export), sep="\n")
    if done.bench is not None:
        print("", done.bench.summary(), sep="\n")
    print(f"\nwrote {args.output_dir}: model.onnx, profile.json, verification.json"
          + (f", {BENCH_FILE}, {BENCH_CSV}, {BENCH_SUMMARY}" if done.bench is not None else ""))
    return 0 if done.export.verification.passed else 1


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


