"""Can the regression gate be trusted on this machine? A/A false alarms and a seeded slowdown.

    .venv/bin/python benchmarks/gate_calibration.py [--runs 6] [--ci-runs 10] [--gemms 24]

Stages (each resumable: finished results are kept in ``--work-dir`` and skipped on a re-run):

1. Export all-MiniLM-L6-v2 once, and a seeded copy: ``--gemms`` identity 384x384 MatMuls
   chained on ``last_hidden_state`` (values unchanged, more work per token).
2. Separate runs: ``--runs`` runs of ``shapeprof bench MODEL -b 1,8 -s 16,64 --no-pytorch
   --rounds 5`` of the base and as many of the seeded model, each in its own process, base and
   seeded alternating in time.
3. Paired CI runs: ``--ci-runs`` A/A (base vs base) and seeded (base vs seeded) CI comparisons
   on configs/ci.yaml's spec, through the code path ``shapeprof ci`` uses after its exports
   (``regression.ci._interleaved`` then ``compare_results(paired=True)``), alternating A/A and
   seeded.
4. Evaluation (always re-run, cheap): compare over the ordered pairs of separate A/A runs, with
   the old pooled test and with the round-level test with and without the reference
   normalisation; base run i vs seeded run j; the CI runs' timing gates. Timing verdicts only:
   the seeded graph's extra MatMuls change the op counts, an exact fact that gates on its own.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_common import REPO, add_common_args, model_dirs

CI_SPEC = REPO / "configs" / "ci.yaml"
GRID = ["-b", "1,8", "-s", "16,64", "--no-pytorch", "--rounds", "5"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--runs", type=int, default=6, help="separate runs per model (default 6)")
    parser.add_argument("--ci-runs", type=int, default=10, help="CI runs per kind (default 10)")
    parser.add_argument("--gemms", type=int, default=24, help="identity GEMMs of the seed (default 24)")
    parser.add_argument("--stage", choices=("all", "separate", "ci", "evaluate"), default="all")
    args = parser.parse_args()
    base, _ = model_dirs(args)
    seeded = seeded_copy(base, args.work_dir / f"minilm-seeded-{args.gemms}", args.gemms)
    out = args.work_dir / "gate"
    if args.stage in ("all", "separate"):
        separate_runs(base, seeded, out / f"separate-g{args.gemms}", args.runs)
    if args.stage in ("all", "ci"):
        ci_runs(base, seeded, out / f"ci-g{args.gemms}-{spec_hash()}", args.ci_runs)
    if args.stage not in ("all", "evaluate"):
        return
    report = evaluate(out / f"separate-g{args.gemms}", out / f"ci-g{args.gemms}-{spec_hash()}")
    print(json.dumps(report, indent=1))
    if args.output:
        args.output.write_text(json.dumps(report, indent=1), encoding="utf-8")


def seeded_copy(base: Path, out: Path, gemms: int) -> Path:
    """A copy of the export whose ``last_hidden_state`` goes through ``gemms`` identity MatMuls."""
    if (out / "model.onnx").is_file():
        return out
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(base, tmp)
    model = onnx.load(str(base / "model.onnx"))
    graph = model.graph
    name = "last_hidden_state"
    hidden = next(o for o in graph.output if o.name == name).type.tensor_type.shape.dim[-1].dim_value
    for node in graph.node:
        node.output[:] = [f"{name}_pre" if o == name else o for o in node.output]
        node.input[:] = [f"{name}_pre" if i == name else i for i in node.input]
    graph.initializer.append(numpy_helper.from_array(np.eye(hidden, dtype=np.float32), "seed_eye"))
    last = f"{name}_pre"
    for i in range(gemms):
        target = name if i == gemms - 1 else f"seed_{i}"
        graph.node.append(helper.make_node("MatMul", [last, "seed_eye"], [target], name=f"seed_mm{i}"))
        last = target
    onnx.save(model, str(tmp / "model.onnx"))
    tmp.rename(out)
    return out


def separate_runs(base: Path, seeded: Path, out: Path, runs: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for i in range(runs):
        for kind, model in (("base", base), ("seeded", seeded)):
            path = out / f"{kind}-{i}.json"
            if path.is_file():
                continue
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "shapeprof", "bench", str(model), *GRID, "--quiet",
                            "-o", str(path)], check=True, env=env, stdout=subprocess.DEVNULL)
            print(f"{path.name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def spec_hash() -> str:
    """Which CI spec the CI runs used (its sweep and timing): a new spec gets new runs."""
    import yaml

    spec = yaml.safe_load(CI_SPEC.read_text(encoding="utf-8"))
    key = json.dumps({k: spec.get(k) for k in ("data", "sweep", "timing", "variants")}, sort_keys=True)
    return hashlib.sha1(key.encode()).hexdigest()[:8]


def ci_runs(base: Path, seeded: Path, out: Path, runs: int) -> None:
    """Each CI run: the CI spec's interleaved rounds of base and candidate, both results saved."""
    from shapeprof.profile import profile_dataset
    from shapeprof.regression.ci import _interleaved
    from shapeprof.runspec import load_spec

    out.mkdir(parents=True, exist_ok=True)
    spec = load_spec(CI_SPEC)
    profile: Any = None
    for i, kind in itertools.product(range(runs), ("aa", "seeded")):
        if (out / f"{kind}-{i}-candidate.json").is_file():
            continue
        if profile is None:
            data = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.data.items()}
            profile = profile_dataset(str(base), spec.dataset, progress=False, **data)
        t0 = time.perf_counter()
        pair = _interleaved(base, base if kind == "aa" else seeded, profile, spec,
                            spec.timing.get("rounds", 3))
        pair[0].save(out / f"{kind}-{i}-base.json")
        pair[1].save(out / f"{kind}-{i}-candidate.json")
        print(f"ci {kind}-{i}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def evaluate(separate: Path, ci: Path) -> dict[str, Any]:
    raise NotImplementedError


if __name__ == "__main__":
    main()
