"""``shapeprof run SPEC.yaml``: one run spec from configs/ -> profile, export, verify, bench."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="run a YAML run spec (see configs/)")
    p.add_argument("spec", metavar="SPEC.yaml", help="run spec, e.g. configs/sst2-minilm.yaml")
    p.add_argument("--output-dir", "-o", default=None, help="output directory (default: out/<name>)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty output directory")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..atomic import check_output_dir
    from ..default_model import default_model_dir
    from ..errors import ExportError
    from ..loading import check_weights, require_preprocessor_files
    from ..runspec import load_spec, run_spec
    from . import quiet_libraries

    spec = load_spec(args.spec)
    check_output_dir(Path(args.output_dir or Path("out") / spec.name), args.overwrite, ExportError)
    model = spec.model or default_model_dir()
    check_weights(model)
    require_preprocessor_files(model)
    quiet_libraries()
    done = run_spec(spec, args.output_dir, args.overwrite, progress=not args.quiet)
    print(done.bench.summary() if done.bench is not None else "")
    print(f"\nwrote {done.export.output_dir}")
    return 0 if done.export.verification.passed else 1
