"""Task accuracy and latency of every graph variant of all-MiniLM-L6-v2: which int8 keeps STS-B.

    .venv/bin/python benchmarks/accuracy_variants.py [--calibration-rows 256] [--rounds 5]
        [--static qoperator/minmax/pc,qdq/percentile/pc,qdq/minmax/pc/gelu] [--quick]

Accuracy: STS-B dev (1,500 pairs), Spearman x100 of the cosine of mean-pooled embeddings
against the gold scores, for every variant, with 95% percentile bootstrap intervals and drops
from the float32 export paired on the same resampled rows (shapeprof.accuracy).

Static int8 is calibrated on ``--calibration-rows`` SST-2 dev rows (the profiled dataset of the
tune goal; STS-B rows are never used to calibrate). ``--static`` adds static int8 builds with
other settings, each ``[optimized:]format/method/channels[/gelu][/fused]``: ``optimized:`` to
quantise the optimizer's graph, format qdq or qoperator, method minmax, percentile or entropy,
channels pc (per channel) or pt (per tensor), ``gelu`` to keep the MatMuls fed by GELU (the
FFN's second projection) in float, ``fused`` to let the optimizer fuse Attention (whose fused
op static quantisation leaves in float; by default it is not fused, so its projections are int8). Percentile and entropy calibrate on
``--histogram-rows`` rows, one per batch padded to the longest (onnxruntime's histogram
calibrators keep every activation in memory and need one shape).

Latency: ``--latency-batches`` batches of ``--batch-size`` SST-2 dev rows in data order, padded
to their longest row (the tune baseline's batching), on all physical cores. Every round times
one pass over the batches per variant, back to back in rotating order; speedups over the
float32 export are paired by round (shapeprof.bench.paired), so machine drift cancels.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from bench_common import GLUE_DIR, add_common_args, model_dirs, sst2_texts

BASE = ("onnx", "optimized", "int8", "optimized-int8", "static-int8", "optimized-static-int8")


def parse_static(spec: str):
    """``[optimized:]qoperator/minmax/pc[/gelu][/fused]`` -> (variant, StaticSettings)."""
    from shapeprof.bench.static_int8 import StaticSettings

    variant, _, spec = spec.rpartition(":")
    parts = spec.split("/")
    if len(parts) < 3 or parts[2] not in ("pc", "pt") or variant not in ("", "optimized"):
        raise SystemExit(f"--static {spec!r}: give [optimized:]format/method/pc|pt[/gelu][/fused]")
    gelu = ("Gelu", "BiasGelu", "FastGelu") if "gelu" in parts[3:] else ()
    settings = StaticSettings(parts[0], parts[2] == "pc", parts[1], float_after=gelu,
                              fuse_attention="fused" in parts[3:]).check()
    return ("optimized-static-int8" if variant else "static-int8"), settings


def build(model_dir: Path, out: Path, calibration, histogram_calibration, extra: list[str]
          ) -> dict[str, tuple[Path, float, dict]]:
    """Every variant's file, build seconds and static settings (percentile and entropy calibrate
    on ``histogram_calibration``: onnxruntime holds all their activations in memory at once)."""
    from shapeprof.bench.static_int8 import DEFAULT_STATIC
    from shapeprof.bench.variants import make_variant

    built = {}
    jobs = [(name, name, None) for name in BASE] + [(f"{parse_static(s)[0]} [{s.rpartition(':')[2]}]",
                                                     *parse_static(s)) for s in extra]
    for label, name, settings in jobs:
        start = time.perf_counter()
        where = out / label.replace(" ", "_").replace("/", "-")
        rows = histogram_calibration if settings and settings.method != "minmax" else calibration
        path, _ = make_variant(model_dir, name, where, calibration=rows, static=settings)
        seconds = time.perf_counter() - start
        static = (settings or DEFAULT_STATIC).to_dict() if "static" in name else None
        built[label] = (path, seconds, static)
        print(f"built {label} in {seconds:.1f} s", file=sys.stderr)
    return built


def latency_batches(model_dir: Path, batch_size: int, count: int) -> list[dict[str, np.ndarray]]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    texts = sst2_texts(batch_size * count)
    return [{k: v.astype(np.int64) for k, v in tok(texts[i:i + batch_size], padding=True, truncation=True,
                                                      max_length=256, return_tensors="np").items()}
            for i in range(0, len(texts), batch_size)]


def time_variants(paths: dict[str, Path], batches, rounds: int, threads: int) -> dict[str, list[float]]:
    """Per variant, per round: median ms per batch over ``calls`` passes of the batches."""
    from shapeprof.bench.runner import SessionSettings, make_session

    sessions = {n: make_session(p, SessionSettings(intra_op_threads=threads)) for n, p in paths.items()}
    feeds = {n: [{i.name: b[i.name] for i in s.get_inputs()} for b in batches] for n, s in sessions.items()}
    for n, s in sessions.items():               # warm-up: every shape once
        for f in feeds[n]:
            s.run(None, f)
    names, out = list(sessions), {n: [] for n in sessions}
    for r in range(rounds):
        for n in names[r % len(names):] + names[:r % len(names)]:
            times = []
            for f in feeds[n]:
                start = time.perf_counter()
                sessions[n].run(None, f)
                times.append((time.perf_counter() - start) * 1e3)
            out[n].append(float(np.mean(times)))
        print(f"latency round {r + 1}/{rounds}", file=sys.stderr)
    return out


def table(scores, latency: dict[str, list[float]], built) -> str:
    from shapeprof.bench.paired import paired_speedup

    ref = np.array(latency["onnx"])
    lines = ["| variant | STS-B Spearman x100 [95% CI] | drop vs float32 [95% CI] | ms/batch (median of rounds) "
             "| speedup vs onnx [95% CI] | size MB |", "|---|---|---|---|---|---|"]
    for s in scores:
        ms = np.array(latency[s.variant])
        sp = paired_speedup(ref, ms)
        drop = s.drop.format() if s.drop else "(reference)"
        size = built[s.variant][0].stat().st_size / 1e6
        lines.append(f"| {s.variant} | {s.metric.format()} | {drop} | {np.median(ms):.1f} | "
                     f"{sp.ratio:.2f}x [{sp.low:.2f}, {sp.high:.2f}] | {size:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--calibration-rows", type=int, default=256)
    parser.add_argument("--histogram-rows", type=int, default=96,
                        help="calibration rows of the percentile and entropy methods (default 96)")
    parser.add_argument("--accuracy-rows", type=int, default=None, help="STS-B rows scored (default all)")
    parser.add_argument("--static", default="", help="extra static int8 settings, comma separated")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--latency-batches", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from shapeprof.accuracy import METHOD, load_accuracy_data, score_variants
    from shapeprof.bench.calibration import calibration_rows
    from shapeprof.bench.runner import physical_cores

    model_dir, _ = model_dirs(args)
    threads = args.threads or physical_cores()
    rows = 64 if args.quick else args.accuracy_rows
    data = load_accuracy_data("glue/stsb", "embedding", rows=rows, seed=args.seed, data_dir=GLUE_DIR)
    calibration = calibration_rows("glue/sst2", rows=args.calibration_rows, seed=args.seed, exclude=data,
                                   data_dir=GLUE_DIR)
    histogram = calibration_rows("glue/sst2", rows=args.histogram_rows, seed=args.seed, exclude=data,
                                 data_dir=GLUE_DIR)
    extra = [s for s in args.static.split(",") if s.strip()]
    built = build(model_dir, args.work_dir / "accuracy-variants", calibration, histogram, extra)
    paths = {n: b[0] for n, b in built.items()}
    scores = score_variants(model_dir, paths, data, seed=args.seed, threads=threads,
                            progress=lambda m: print(m, file=sys.stderr))
    batches = latency_batches(model_dir, args.batch_size, 2 if args.quick else args.latency_batches)
    latency = time_variants(paths, batches, 2 if args.quick else args.rounds, threads)
    print(f"model: {model_dir}; {threads} intra-op threads; accuracy: {data.name}, {len(data)} pairs; "
          f"calibration: {len(calibration)} SST-2 dev rows (seed {args.seed}); latency: "
          f"{len(batches)} SST-2 dev batches of {args.batch_size} in data order, padded to longest; "
          f"intervals: {METHOD}\n")
    print(table(scores, latency, built))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps({
            "scores": [s.to_dict() for s in scores], "latency_ms_per_round": latency,
            "builds": {n: {"seconds": b[1], "static": b[2]} for n, b in built.items()},
            "data": {**data.describe(), "indices": None}, "calibration": calibration.describe(),
            "threads": threads}, indent=1))


if __name__ == "__main__":
    main()
