"""onnxruntime latency of shapeprof's all-MiniLM-L6-v2 export vs a plain dynamo export and Optimum's.

    ../.venv/bin/python export_vs_optimum.py --optimum /path/to/optimum_export -o ../out/bench/export_vs_optimum.json

``--optimum`` is a directory made by ``optimum-cli export onnx --model <minilm> --task
feature-extraction DIR`` in a separate environment (optimum-onnx needs transformers<4.58;
it is never a shapeprof dependency). Without it, only the two dynamo exports are compared.
Models are timed round-robin per cell so all see the same machine load; the table gives
median ms and the ratio to the first column. It also counts the Attention nodes
onnxruntime's transformer optimizer fuses in each model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import onnxruntime as ort

REPO = Path(__file__).resolve().parents[1]
CELLS = [(1, 24), (1, 128), (8, 24), (8, 128), (32, 24), (32, 128)]


def export_shapeprof(work: Path) -> Path:
    from shapeprof.export import export
    from shapeprof.default_model import default_model_dir

    out = work / "shapeprof"
    if not (out / "model.onnx").is_file():
        export(default_model_dir(), out, task="feature-extraction", overwrite=True)
    return out / "model.onnx"


def export_plain(work: Path) -> Path:
    """torch.onnx.export(dynamo=True) of the model as transformers ships it: the 'before'."""
    import torch
    from transformers import AutoModel

    from shapeprof.default_model import default_model_dir

    path = work / "plain" / "model.onnx"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    model = AutoModel.from_pretrained(str(default_model_dir())).eval()
    feeds = {k: torch.tensor(v) for k, v in make_feeds(2, 16, seed=0).items()}
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    with torch.no_grad():
        program = torch.onnx.export(model, (), kwargs=feeds, dynamo=True,
                                    dynamic_shapes={k: {0: batch, 1: seq} for k in feeds},
                                    input_names=list(feeds), output_names=["last_hidden_state"])
    program.save(str(path))
    return path


def make_feeds(batch: int, seq: int, seed: int) -> dict[str, np.ndarray]:
    """Token ids in BERT's vocabulary, every other row right-padded."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, 30000, size=(batch, seq), dtype=np.int64)
    mask = np.ones((batch, seq), dtype=np.int64)
    for row in range(1, batch, 2):
        mask[row, int(rng.integers(1, seq + 1)):] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def fused_attention(path: Path) -> int:
    from onnxruntime.transformers.optimizer import optimize_model

    from shapeprof.bench.variants import fusion_options

    model = optimize_model(str(path), model_type="bert", num_heads=12, hidden_size=384,
                           optimization_options=fusion_options("bert"))
    return sum(1 for n in model.model.graph.node if n.op_type == "Attention")


def time_cell(sessions: dict[str, ort.InferenceSession], feeds: dict[str, np.ndarray],
              rounds: int, per_round: int) -> dict[str, list[float]]:
    """Round-robin: each round runs every model ``per_round`` times."""
    samples: dict[str, list[float]] = {name: [] for name in sessions}
    for s in sessions.values():
        s.run(None, feeds)
    for _ in range(rounds):
        for name, s in sessions.items():
            for _ in range(per_round):
                start = time.perf_counter()
                s.run(None, feeds)
                samples[name].append((time.perf_counter() - start) * 1e3)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--optimum", type=Path, help="directory of Optimum's export (model.onnx)")
    parser.add_argument("--work-dir", type=Path, default=REPO / "out" / "export-vs-optimum")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()

    models = {"shapeprof": export_shapeprof(args.work_dir), "plain dynamo": export_plain(args.work_dir)}
    if args.optimum:
        models = {"optimum": args.optimum / "model.onnx", **models}
    sessions = {name: session(path, args.threads) for name, path in models.items()}
    result: dict = {"threads": args.threads, "ort": ort.__version__, "cells": [],
                    "fused_attention": {name: fused_attention(p) for name, p in models.items()}}
    base = next(iter(models))
    print("| batch x seq | " + " | ".join(models) + " |")
    print("|---|" + "---:|" * len(models))
    for batch, seq in CELLS:
        per_round = max(1, int(2000 / (batch * seq)))
        samples = time_cell(sessions, make_feeds(batch, seq, seed=batch * seq), args.rounds, per_round)
        medians = {name: statistics.median(v) for name, v in samples.items()}
        result["cells"].append({"batch": batch, "sequence": seq, "median_ms": medians, "samples_ms": samples})
        row = [f"{medians[n]:.1f} ({medians[n] / medians[base]:.2f})" for n in models]
        print(f"| {batch} x {seq} | " + " | ".join(row) + " |", flush=True)
    print("fused Attention nodes after onnxruntime's optimizer:", result["fused_attention"])
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
