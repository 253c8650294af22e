"""Wall time of the README's main job, end to end, per stage; prints figures, asserts nothing.

Runs ``shapeprof export --dataset glue --bench OUT`` (the embedded all-MiniLM-L6-v2, GLUE SST-2
dev) in a fresh process with a fresh output directory, reads its stderr as it comes and stamps
each stage line, then prints the time of every stage, the total, and the closing summary.
Stages: start-up (imports, argument checks) until "profiling", profile until "exporting",
export + verification until "benchmarking", the benchmark until the process ends.

    .venv/bin/python benchmarks/main_job_time.py [--data-dir ../shared/data/glue] [--bench full]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_GLUE = REPO.parent / "shared" / "data" / "glue"
STAGES = (("profiling", "profile"), ("exporting", "export + verify"), ("benchmarking", "bench"))


def run(glue: Path, grid: str) -> tuple[float, list[tuple[float, str]], str, int]:
    """(total s, [(time since start, stderr line)], stdout, exit status)."""
    out = Path(tempfile.mkdtemp(prefix="main-job-")) / "out"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "SHAPEPROF_DATA_DIR": str(glue)}
    cmd = [sys.executable, "-m", "shapeprof", "export", "--dataset", "glue", "--bench", grid, str(out)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stderr is not None and proc.stdout is not None
    lines = [(time.perf_counter() - start, line.rstrip()) for line in proc.stderr]
    stdout = proc.stdout.read()
    status = proc.wait()
    total = time.perf_counter() - start
    shutil.rmtree(out.parent, ignore_errors=True)
    return total, lines, stdout, status


def stage_times(lines: list[tuple[float, str]], total: float) -> list[tuple[str, float]]:
    """(stage, seconds): each stage runs from its opening line to the next one's (or the end)."""
    starts = [(0.0, "start-up")]
    for word, name in STAGES:
        found = next((t for t, line in lines if line.startswith(f"shapeprof: {word}")), None)
        if found is not None:
            starts.append((found, name))
    ends = [t for t, _ in starts[1:]] + [total]
    return [(name, end - t) for (t, name), end in zip(starts, ends)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_GLUE)
    parser.add_argument("--bench", choices=("quick", "full"), default="quick")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}; load average before: {os.getloadavg()[0]:.2f}")
    total, lines, stdout, status = run(args.data_dir, args.bench)
    for name, seconds in stage_times(lines, total):
        print(f"{name:<16}{seconds:7.1f} s")
    print(f"{'total':<16}{total:7.1f} s   (exit status {status}; load average after: {os.getloadavg()[0]:.2f})")
    print(f"progress lines on stderr: {len(lines)}; closing summary: {len(stdout.splitlines())} lines")
    print(stdout, end="")
    return status


if __name__ == "__main__":
    sys.exit(main())
