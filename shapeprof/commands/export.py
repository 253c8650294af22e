"""``shapeprof export``: model (+ dataset profile) -> verified ONNX directory."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("export", help="export a model to ONNX and verify it against PyTorch")
    p.add_argument("output_dir", metavar="OUTPUT_DIR", help="directory to create (model.onnx, config, tokenizer, reports)")
    p.add_argument("--model", "-m", default=None,
                   help="local model directory or Hub id (default: the embedded all-MiniLM-L6-v2)")
    p.add_argument("--task", "-t", default=None, help="task (default: inferred from the model's config)")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default: the config's, 18)")
    p.add_argument("--atol", type=float, default=None, help="absolute tolerance of the verification")
    p.add_argument("--rtol", type=float, default=None, help="relative tolerance of the verification")
    p.add_argument("--allow-mismatch", action="store_true",
                   help="keep the model when verification fails (it is reported, not fatal)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty OUTPUT_DIR")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="allow the model's own Python code from the Hub (off by default)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..export import export
    from ..models import default_model_dir
    from . import quiet_libraries

    quiet_libraries()

    model = args.model if args.model is not None else default_model_dir()
    result = export(model, args.output_dir, task=args.task, opset=args.opset, atol=args.atol,
                    rtol=args.rtol, strict=not args.allow_mismatch, overwrite=args.overwrite,
                    trust_remote_code=args.trust_remote_code)
    print(summary(result))
    return 0 if result.verification.passed else 1


def summary(result: Any) -> str:
    lines = [f"exported {result.model_type} ({result.task}, opset {result.opset}) "
             f"to {result.onnx_path} in {result.export_seconds:.1f} s",
             "", result.verification.table(), ""]
    lines += [f"note: {n}" for n in result.notes]
    verdict = "passed" if result.verification.passed else "FAILED"
    lines.append(f"verification {verdict} (atol {result.verification.atol:g}, rtol {result.verification.rtol:g})")
    return "\n".join(lines)


