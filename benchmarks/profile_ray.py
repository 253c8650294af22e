"""Rows/s and peak memory of ``profile --engine ray`` (local instance) against ``--engine stream``.

Generates a sharded parquet corpus in a temp dir (default 10,000,000 rows in 40 shards; each row
1 to 3 real SST-2 train sentences joined, seeded), then profiles it in fresh child processes:
the single-process stream (``--streaming``), and Ray with 1 and 2 tokenizer workers, in
alternating order per round. Each child samples its own RSS (the driver) and the RSS of every
``ray::`` process (the workers) from /proc every 0.5 s. Tokenizers run one thread each
(TOKENIZERS_PARALLELISM=false, as the CLI sets), so 1 worker vs the stream compares like with
like. Prints one JSON line per run and a table; asserts nothing.

    .venv/bin/python benchmarks/profile_ray.py [--rows 10000000] [--shards 40] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_GLUE = REPO.parent / "shared" / "data" / "glue"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
       "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(REPO)}

CHILD = r"""
import json, os, resource, sys, threading, time

def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    except (OSError, StopIteration, ValueError):
        return 0

def ray_pids():
    # ray:: worker processes descending from this driver (its local Ray instance)
    parent, name = {}, {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    parent[int(pid)] = int(f.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    name[int(pid)] = f.read(64)
            except (OSError, IndexError, ValueError):
                pass
    def mine(pid):
        while pid > 1:
            pid = parent.get(pid, 0)
            if pid == os.getpid():
                return True
        return False
    return [p for p, n in name.items() if n.startswith(b"ray::") and mine(p)]

peak = {"driver": 0, "worker_max": 0, "workers_sum": 0}
stop = threading.Event()
def sample():
    while not stop.wait(0.5):
        peak["driver"] = max(peak["driver"], rss_kib(os.getpid()))
        sizes = [rss_kib(p) for p in ray_pids()]
        peak["worker_max"] = max([peak["worker_max"], *sizes])
        peak["workers_sum"] = max(peak["workers_sum"], sum(sizes))
threading.Thread(target=sample, daemon=True).start()

from shapeprof.profile import profile_dataset
engine, workers, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t0 = time.perf_counter()
if engine == "ray":
    p = profile_dataset(None, data_files=[folder], engine="ray", ray_workers=workers, progress=False)
else:
    p = profile_dataset(None, data_files=[folder], streaming=True, progress=False)
seconds = time.perf_counter() - t0
stop.set()
driver = max(peak["driver"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
print(json.dumps({"engine": engine, "workers": workers, "rows": p.dataset.rows_sampled,
                  "seconds": seconds, "rows_per_s": p.dataset.rows_sampled / seconds,
                  "driver_peak_mib": driver / 1024, "worker_peak_mib": peak["worker_max"] / 1024,
                  "workers_sum_peak_mib": peak["workers_sum"] / 1024,
                  "p50": p.sequence.p(50), "max": p.sequence.max}))
"""


def write_corpus(folder: Path, rows: int, shards: int, glue: Path, seed: int = 0) -> None:
    """``rows`` rows of 1-3 SST-2 train sentences joined, in ``shards`` parquet files."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    with open(glue / "SST-2" / "train.tsv", encoding="utf-8") as f:
        sentences = np.array([line.split("\t")[0] for line in f.read().splitlines()[1:]], dtype=object)
    rng = np.random.default_rng(seed)
    per = -(-rows // shards)
    for i in range(shards):
        n = min(per, rows - i * per)
        if n <= 0:
            break
        parts = rng.integers(1, 4, size=n)
        picks = sentences[rng.integers(0, len(sentences), size=(n, 3))]
        text = [" ".join(row[:k]) for row, k in zip(picks, parts)]
        pq.write_table(pa.table({"text": text, "id": np.arange(i * per, i * per + n)}),
                       folder / f"part-{i:05d}.parquet", row_group_size=65536)


def run(engine: str, workers: int, folder: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, engine, str(workers), str(folder)],
                         capture_output=True, text=True, env=ENV)
    if out.returncode != 0:
        raise SystemExit(f"{engine} x{workers} failed: {out.stderr.strip()[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["load_avg"] = os.getloadavg()[0]
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_GLUE)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--shards", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="shapeprof-ray-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        write_corpus(folder, args.rows, args.shards, args.data_dir)
        size = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
        print(f"generated {args.rows:,} rows in {args.shards} parquet shards ({size:.0f} MiB) "
              f"in {time.perf_counter() - t0:.0f} s", flush=True)
        plan = [("ray", 2), ("stream", 1), ("ray", 1)]
        results = []
        for r in range(args.rounds):
            for engine, workers in (plan if r % 2 == 0 else plan[::-1]):
                results.append(run(engine, workers, folder))
    print(f"\n{'engine':<8}{'workers':>8}{'rows/s':>10}{'s':>8}{'driver MiB':>12}"
          f"{'worker MiB':>12}{'load':>6}")
    for x in results:
        print(f"{x['engine']:<8}{x['workers']:>8}{x['rows_per_s']:>10,.0f}{x['seconds']:>8.0f}"
              f"{x['driver_peak_mib']:>12.0f}{x['worker_peak_mib']:>12.0f}{x['load_avg']:>6.1f}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
