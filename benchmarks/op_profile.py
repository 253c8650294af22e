"""Where one cell's time goes, operator by operator: onnxruntime variants against PyTorch eager.

    .venv/bin/python benchmarks/op_profile.py [--cell 32x128] [--variants onnx,optimized] [--calls 10]
        [--flush-denormals]

onnxruntime's own profiler (``enable_profiling``) gives each node's kernel time and
``torch.profiler`` each aten operator's self time, on the same real SST-2 rows padded to the
cell's length. Both are summed into the same groups (GEMM, attention, element-wise, layer norm,
GELU, other) per call, so the gap between the runtimes shows where it is.
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

import numpy as np
from bench_common import model_dirs, sst2_texts

ORT_GROUPS = {"MatMul": "GEMM", "Gemm": "GEMM", "FusedMatMul": "attention", "Attention": "attention",
              "MultiHeadAttention": "attention", "Softmax": "attention", "Transpose": "attention",
              "BiasGelu": "GELU", "Gelu": "GELU", "FastGelu": "GELU", "LayerNormalization": "layer norm",
              "SkipLayerNormalization": "layer norm", "Add": "element-wise", "Mul": "element-wise",
              "Div": "element-wise", "Sub": "element-wise"}
TORCH_GROUPS = {"aten::addmm": "GEMM", "aten::mm": "GEMM", "aten::bmm": "attention",
                "aten::_scaled_dot_product_flash_attention_for_cpu": "attention", "aten::_softmax": "attention",
                "aten::gelu": "GELU", "aten::native_layer_norm": "layer norm", "aten::add": "element-wise",
                "aten::mul": "element-wise", "aten::div": "element-wise", "aten::copy_": "copies"}


def cell_feeds(model_dir: Path, batch: int, length: int) -> dict[str, np.ndarray]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    rows = [t for t in sst2_texts() if len(tok(t)["input_ids"]) <= length][:batch]
    enc = tok(rows, padding="max_length", max_length=length, truncation=True, return_tensors="np")
    return {k: v.astype(np.int64) for k, v in enc.items()}


def ort_groups(path: Path, feeds: dict, threads: int, calls: int, workdir: Path, flush: bool
               ) -> dict[str, float]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    if flush:
        options.add_session_config_entry("session.set_denormal_as_zero", "1")
    options.enable_profiling = True
    options.profile_file_prefix = str(workdir / "ort-profile")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    feed = {k: v for k, v in feeds.items() if k in names}
    for _ in range(calls):
        session.run(None, feed)
    trace = Path(session.end_profiling())
    groups: dict[str, float] = collections.Counter()
    for event in json.loads(trace.read_text()):
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            op = event["args"]["op_name"]
            groups[ORT_GROUPS.get(op, "other")] += event["dur"] / 1000.0 / calls
    trace.unlink()
    return dict(groups)


def torch_groups(model_dir: Path, feeds: dict, threads: int, calls: int) -> dict[str, float]:
    import torch
    from torch.profiler import profile
    from transformers import AutoModel

    torch.set_num_threads(threads)
    model = AutoModel.from_pretrained(model_dir).eval()
    inputs = {k: torch.from_numpy(v) for k, v in feeds.items()}
    with torch.inference_mode():
        model(**inputs)
        with profile() as prof:
            for _ in range(calls):
                model(**inputs)
    groups: dict[str, float] = collections.Counter()
    for event in prof.key_averages():
        groups[TORCH_GROUPS.get(event.key, "other")] += event.self_cpu_time_total / 1000.0 / calls
    return dict(groups)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="32x128", help="BxL (default 32x128)")
    parser.add_argument("--variants", default="onnx,optimized")
    parser.add_argument("--calls", type=int, default=10, help="profiled calls per runtime")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (default: physical cores)")
    parser.add_argument("--work-dir", type=Path, default=Path(__file__).resolve().parents[1] / "out" / "bench-work")
    parser.add_argument("--flush-denormals", action="store_true",
                        help="flush denormals to zero in both runtimes (run once with, once without)")
    parser.add_argument("--quick", action="store_true", help="tiny model, 4x16, 2 calls: a smoke run")
    args = parser.parse_args()
    if args.flush_denormals:     # this (calling) thread runs PyTorch and takes part in onnxruntime's calls
        import torch

        torch.set_flush_denormal(True)

    from shapeprof.bench.model_dir import open_model_dir
    from shapeprof.bench.runner import physical_cores
    from shapeprof.bench.variants import build_variant

    model_dir, torch_dir = model_dirs(args)
    b, n = (4, 16) if args.quick else (int(v) for v in args.cell.lower().split("x"))
    calls = 2 if args.quick else args.calls
    threads = args.threads or physical_cores()
    feeds = cell_feeds(model_dir, b, n)
    model = open_model_dir(model_dir)
    table = {}
    for name in args.variants.split(","):
        path, _ = build_variant(name, model, args.work_dir)
        table[name] = ort_groups(path, feeds, threads, calls, args.work_dir, args.flush_denormals)
    table["pytorch"] = torch_groups(torch_dir, feeds, threads, calls)
    groups = sorted({g for t in table.values() for g in t}, key=lambda g: -table["pytorch"].get(g, 0.0))
    mode = "flushed" if args.flush_denormals else "kept"
    print(f"cell {b}x{n}, real SST-2 rows, {threads} threads, denormals {mode}: ms per call, "
          "by operator group\n")
    print("| group | " + " | ".join(table) + " |")
    print("|---|" + "---:|" * len(table))
    for g in groups:
        print(f"| {g} | " + " | ".join(f"{t.get(g, 0.0):.1f}" for t in table.values()) + " |")
    print("| **total** | " + " | ".join(f"**{sum(t.values()):.1f}**" for t in table.values()) + " |")


if __name__ == "__main__":
    main()
