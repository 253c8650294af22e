"""Fresh-process measurement: ``python -m shapeprof.bench.worker SPEC.json`` times one cell.

The spec names the ONNX file, session settings, timing policy, the cell's phase (a decode
cell times real greedy steps, :mod:`.greedy_step`) and an ``.npz`` of feeds; the
worker prints ``{"samples_ms": [...], "process_peak_rss_mib": ..., "session_growth_mib": ...}``
as one JSON line on stdout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..errors import BenchError
from .greedy_step import CHAIN, cell_call
from .runner import PeakMemory, SessionSettings, TimingPolicy, collect_timed, make_session


def measure_spec(spec: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    settings = SessionSettings(**{**spec["settings"], "providers": tuple(spec["settings"]["providers"])})
    session = make_session(spec["onnx"], settings)
    with np.load(spec["feeds"]) as data:
        feeds = {k: data[k] for k in data.files}
    with PeakMemory() as mem:
        call, reset = cell_call(session, feeds, spec.get("phase", ""))
        samples = collect_timed(call, TimingPolicy(**spec["policy"]), reset, CHAIN, cpu=False)[0]
    return {"samples_ms": samples, "process_peak_rss_mib": mem.peak_mib, "session_growth_mib": mem.growth_mib}


def run_in_subprocess(spec_path: Path, timeout_s: float = 3600) -> dict[str, Any]:
    """Run the worker in a new interpreter; a one-line BenchError if it fails."""
    proc = subprocess.run([sys.executable, "-m", "shapeprof.bench.worker", str(spec_path)],
                          capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"the fresh-process measurement failed ({last[:300]}); run without "
                         "--fresh-process to see the full error")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    print(json.dumps(measure_spec(spec)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
