"""Shared setup of the benchmark scripts: the exported all-MiniLM-L6-v2, SST-2 dev texts, options.

The export is cached in ``--work-dir`` (default ``out/bench-work``, git-ignored). ``--quick`` swaps
in a tiny BERT (MiniLM's tokenizer, 2 layers, hidden 32) and tiny timing budgets: a smoke test of
the script, not a measurement.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SST2_DEV = REPO.parent / "shared" / "data" / "glue" / "SST-2" / "dev.tsv"
GLUE_DIR = SST2_DEV.parents[1]


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work-dir", type=Path, default=REPO / "out" / "bench-work",
                        help="cache of exported models (default out/bench-work)")
    parser.add_argument("--output", "-o", type=Path, default=None, help="results JSON to write")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (default: physical cores)")
    parser.add_argument("--min-time", type=float, default=1.0, help="seconds per cell and round, at least")
    parser.add_argument("--min-samples", type=int, default=30, help="samples per cell, at least")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds over the whole grid (interleaved, default 3)")
    parser.add_argument("--quick", action="store_true", help="tiny model and budgets: a smoke run")


def timing(args: argparse.Namespace) -> dict:
    if args.quick:
        return dict(warmup=1, min_samples=3, min_time_s=0.0, rounds=1)
    return dict(warmup=args.warmup, min_samples=args.min_samples, min_time_s=args.min_time,
                rounds=args.rounds)


def sst2_texts(limit: int | None = None) -> list[str]:
    """SST-2 dev sentences (the TSV has no quoting: read with QUOTE_NONE)."""
    with SST2_DEV.open(encoding="utf-8", newline="") as f:
        rows = [row["sentence"] for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    return rows[:limit] if limit else rows


def model_dirs(args: argparse.Namespace) -> tuple[Path, Path]:
    """(exported MODEL_DIR, PyTorch model dir): MiniLM, or the tiny stand-in with --quick."""
    return _tiny(args.work_dir) if args.quick else _minilm(args.work_dir)


def _minilm(work: Path) -> tuple[Path, Path]:
    from shapeprof.commands import quiet_libraries
    from shapeprof.export import export
    from shapeprof.default_model import default_model_dir

    quiet_libraries()
    source, out = default_model_dir(), work / "minilm-onnx"
    if not (out / "model.onnx").is_file():
        print(f"exporting all-MiniLM-L6-v2 to {out} ...", file=sys.stderr)
        export(str(source), out, task="feature-extraction", overwrite=True)
    return out, source


def _tiny(work: Path) -> tuple[Path, Path]:
    from transformers import AutoTokenizer

    from shapeprof.commands import quiet_libraries
    from shapeprof.export import export
    from shapeprof.default_model import default_model_dir
    from shapeprof.testing.tiny import tiny_model

    quiet_libraries()
    out = work / "tiny-bert-onnx"
    if not (out / "model.onnx").is_file():
        tok = AutoTokenizer.from_pretrained(default_model_dir())
        model = tiny_model("bert", "feature-extraction", vocab_size=tok.vocab_size)
        export(model, out, task="feature-extraction", overwrite=True,
               extra_files=lambda d: (model.save_pretrained(d), tok.save_pretrained(d)))
    return out, out


def median_length(model_dir: Path, texts: list[str]) -> int:
    """Lower median token length of ``texts`` (a length real rows have; special tokens included)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    lengths = sorted(len(ids) for ids in tok(texts)["input_ids"])
    return lengths[(len(lengths) - 1) // 2]


def save(results, args: argparse.Namespace, default_name: str) -> None:
    path = args.output or (args.work_dir.parent / "bench" / default_name)
    results.save(path)
    print(f"\nresults: {path}", file=sys.stderr)
