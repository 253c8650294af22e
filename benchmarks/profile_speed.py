"""Speed and memory of ``shapeprof profile``; prints figures, asserts nothing.

1. SST-2 train (all 67,349 rows) with the embedded MiniLM tokenizer: in-process time of
   ``profile_dataset`` (median of --repeat runs, tokenizer already imported) with a stage
   split, plus the cold end-to-end ``python -m shapeprof profile`` wall time.
2. Streaming a generated local csv of --stream-rows rows (default 1,000,000): wall time and
   peak RSS (``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``) of a child process, next to
   the RSS of a child that only imports and loads the tokenizer.

    .venv/bin/python benchmarks/profile_speed.py [--data-dir ../shared/data/glue]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_GLUE = REPO.parent / "shared" / "data" / "glue"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def sst2_in_process(glue: Path, repeat: int) -> None:
    from shapeprof.data import load_texts, resolve_dataset
    from shapeprof.default_model import default_model_dir
    from shapeprof.profile import LengthCounter, load_tokenizer, profile_dataset

    t0 = time.perf_counter()
    tokenizer, _ = load_tokenizer(default_model_dir())
    print(f"import + tokenizer load: {time.perf_counter() - t0:.2f} s")
    ds = resolve_dataset("glue", data_dir=glue, split="train")
    t0 = time.perf_counter()
    texts, _ = load_texts(ds)
    t1 = time.perf_counter()
    LengthCounter(tokenizer)(texts)
    t2 = time.perf_counter()
    print(f"stages: read {t1 - t0:.2f} s, tokenize {len(texts):,} rows {t2 - t1:.2f} s")
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        profile = profile_dataset(None, "glue", data_dir=glue, split="train", progress=False)
        times.append(time.perf_counter() - t0)
    print(f"profile_dataset(SST-2 train, {profile.sequence.rows:,} rows): median "
          f"{statistics.median(times):.2f} s over {repeat} runs (min {min(times):.2f}, max {max(times):.2f})")


def sst2_cli(glue: Path) -> None:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "shapeprof", "profile", "--data-dir", str(glue),
                    "--split", "train", "-q"], check=True, env=ENV, stdout=subprocess.DEVNULL)
    print(f"cold CLI 'shapeprof profile --split train' end to end: {time.perf_counter() - t0:.2f} s")


def write_big_csv(path: Path, rows: int, glue: Path) -> None:
    with open(glue / "SST-2" / "train.tsv", encoding="utf-8") as f:
        sentences = [line.split("\t")[0] for line in f.read().splitlines()[1:]]
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["id", "text", "label"])
        for i in range(rows):
            a, b = sentences[i % len(sentences)], sentences[(i * 7919) % len(sentences)]
            out.writerow([i, f"{a} {b}" if i % 3 == 0 else a, i % 2])


CHILD = """
import sys, time
from shapeprof.profile import profile_dataset, load_tokenizer
from shapeprof.default_model import default_model_dir
t0 = time.perf_counter()
if sys.argv[1] == "baseline":
    load_tokenizer(default_model_dir())
else:
    p = profile_dataset(None, data_files=sys.argv[1], streaming=True, progress=False)
    print(f"rows {p.sequence.rows:,} p50 {p.sequence.p(50):g} max {p.sequence.max}", end="; ")
print(f"{time.perf_counter() - t0:.1f} s")
"""


def child_rss(arg: str) -> tuple[str, float]:
    """Run CHILD in a fresh process; (its output, its peak RSS in MiB)."""
    code = (f"import resource, subprocess, sys\n"
            f"r = subprocess.run([sys.executable, '-c', {CHILD!r}, {arg!r}], capture_output=True, text=True)\n"
            f"assert r.returncode == 0, r.stderr\n"
            f"print(r.stdout.strip(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV,
                         check=True).stdout.strip()
    text, _, kib = out.rpartition(" ")
    return text, int(kib) / 1024


def streaming_memory(glue: Path, rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        t0 = time.perf_counter()
        write_big_csv(path, rows, glue)
        print(f"generated {rows:,}-row csv ({path.stat().st_size / 2**20:.0f} MiB) "
              f"in {time.perf_counter() - t0:.1f} s")
        base_text, base = child_rss("baseline")
        print(f"baseline (imports + tokenizer): peak RSS {base:.0f} MiB ({base_text})")
        text, peak = child_rss(str(path))
        print(f"streaming profile of all {rows:,} rows: {text}; peak RSS {peak:.0f} MiB "
              f"(+{peak - base:.0f} MiB over baseline)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_GLUE)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stream-rows", type=int, default=1_000_000)
    parser.add_argument("--skip-stream", action="store_true")
    args = parser.parse_args()
    os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    sst2_in_process(args.data_dir, args.repeat)
    sst2_cli(args.data_dir)
    if not args.skip_stream:
        streaming_memory(args.data_dir, args.stream_rows)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
