"""Can the regression gate be trusted on this machine? A/A false alarms and a seeded slowdown.

    .venv/bin/python benchmarks/gate_calibration.py [--runs 6] [--ci-runs 10] [--gemms 24]
        [--ci-gemms 7] [--threads N] [--stage all|separate|ci|evaluate] [-o figures.json]

Stages (each resumable: finished results are kept in ``--work-dir`` and skipped on a re-run):

1. Export all-MiniLM-L6-v2 once, and a seeded copy: ``--gemms`` identity 384x384 MatMuls
   chained on ``last_hidden_state`` (values unchanged, more work per token).
2. Separate runs: ``--runs`` runs of ``shapeprof bench MODEL -b 1,8 -s 16,64 --no-pytorch
   --rounds 5`` of the base and as many of the seeded model, each in its own process, base and
   seeded alternating in time. ``--bench-rounds N`` makes longer runs (kept in their own folder).
3. Paired CI runs: ``--ci-runs`` A/A (base vs base) and seeded (base vs a ``--ci-gemms``
   seed) CI comparisons on configs/ci.yaml's spec, through the code path ``shapeprof ci`` uses
   after its exports (``regression.ci._interleaved`` then ``compare_results(paired=True)``),
   alternating A/A and seeded; compared on CPU time (what CI mode picks: one thread) and on
   wall time.
4. Evaluation (always re-run, cheap; reads the saved runs, runs no benchmark and writes only
   ``-o``): compare over the ordered pairs of separate A/A runs, with the old pooled test and
   with the round-level test with and without the reference normalisation; base run i vs
   seeded run j; run sets of k = 2 and 3 runs a side (``run_sets``: A/A over the ordered pairs
   of disjoint base sets, the seed over every base set x seeded set); the CI runs' timing
   gates. Timing verdicts only: the seeded graph's extra MatMuls change the op counts, an exact
   fact that gates on its own. between_run_sd is never calibrated on the runs being compared.
"""

from __future__ import annotations

import argparse
import dataclasses
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

import numpy as np
from bench_common import REPO, add_common_args, model_dirs

from shapeprof.errors import CompareError

CI_SPEC = REPO / "configs" / "ci.yaml"
GRID = ["-b", "1,8", "-s", "16,64", "--no-pytorch"]
ISSUE_ROUNDS = 5          # the issue's grid; --bench-rounds makes longer runs
RUN_SETS = (2, 3)                  # runs a side of the run-set evaluation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--runs", type=int, default=6, help="separate runs per model (default 6)")
    parser.add_argument("--ci-runs", type=int, default=10, help="CI runs per kind (default 10)")
    parser.add_argument("--gemms", type=int, default=24, help="identity GEMMs of the seed (default 24)")
    parser.add_argument("--ci-gemms", type=int, default=None,
                        help="identity GEMMs of the CI runs' seed (default: --gemms)")
    parser.add_argument("--bench-rounds", type=int, default=ISSUE_ROUNDS,
                        help=f"rounds of each separate run (default {ISSUE_ROUNDS}, the issue's grid)")
    parser.add_argument("--stage", choices=("all", "separate", "ci", "evaluate"), default="all")
    parser.add_argument("--calibration", type=Path, nargs="+", default=None, metavar="DIR",
                        help="separate-run folders of earlier sets: their base runs calibrate "
                             "between_run_sd (shapeprof calibrate --results), instead of leaving the "
                             "compared runs of this set out")
    args = parser.parse_args()
    ci_gemms = args.ci_gemms or args.gemms
    ci_dir = args.work_dir / "gate" / f"ci-g{ci_gemms}-{spec_hash()}"
    out = args.work_dir / "gate"
    separate = out / (f"separate-g{args.gemms}" + ("" if args.threads is None else f"-t{args.threads}")
                      + ("" if args.bench_rounds == ISSUE_ROUNDS else f"-r{args.bench_rounds}"))
    if args.stage != "evaluate":        # evaluate reads the saved runs only: no export, no bench
        base, _ = model_dirs(args)
        seeded = seeded_copy(base, args.work_dir / f"minilm-seeded-{args.gemms}", args.gemms)
        ci_seeded = seeded_copy(base, args.work_dir / f"minilm-seeded-{ci_gemms}", ci_gemms)
        if args.stage in ("all", "separate"):
            extra = [] if args.threads is None else ["--threads", str(args.threads)]
            separate_runs(base, seeded, separate, args.runs, [*extra, "--rounds", str(args.bench_rounds)])
        if args.stage in ("all", "ci"):
            ci_runs(base, ci_seeded, ci_dir, args.ci_runs)
        if args.stage != "all":
            return
    try:
        report = evaluate(separate, ci_dir, args.calibration)
    except CompareError as e:                 # a missing, empty or corrupt folder of saved runs
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
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


def separate_runs(base: Path, seeded: Path, out: Path, runs: int, extra: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for i in range(runs):
        for kind, model in (("base", base), ("seeded", seeded)):
            path = out / f"{kind}-{i}.json"
            if path.is_file():
                continue
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "shapeprof", "bench", str(model), *GRID, *extra, "--quiet",
                            "-o", str(path)], check=True, env=env, stdout=subprocess.DEVNULL)
            print(f"{path.name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def _claim(path: Path) -> bool:
    """Take one CI run for this process (several may fill the same directory at once). The claim
    holds the claimer's pid; a claim whose process is gone (killed, crashed) is taken over, so a
    re-run redoes that CI run instead of skipping it for ever."""
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            if not _stale(path):
                return False
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return True
    return False


def _stale(claim: Path) -> bool:
    """The claimer is gone; an empty claim (an older script's, or one being written) after 10 s."""
    try:
        text, age = claim.read_text().strip(), time.time() - claim.stat().st_mtime
    except OSError:
        return False
    if not text:
        return age > 10.0
    try:
        os.kill(int(text), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


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
        if (out / f"{kind}-{i}-candidate.json").is_file() or not _claim(out / f"{kind}-{i}.claim"):
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


def evaluate(separate: Path, ci: Path, calibration: list[Path] | None = None) -> dict[str, Any]:
    """Every figure of the README's table, from the saved runs. ``calibration``: earlier sets'
    folders whose base runs calibrate the thresholds (else each comparison leaves its runs out)."""
    from shapeprof.regression.calibrate import load_runs

    base = load_runs(sorted(separate.glob("base-*.json"), key=_index))
    seeded = load_runs(sorted(separate.glob("seeded-*.json"), key=_index))
    out: dict[str, Any] = {"separate_runs": len(base), "seeded_runs": len(seeded)}
    if len(base) >= 4:
        fixed = earlier_calibration(calibration) if calibration else None
        if fixed:
            out["calibration"] = {"sets": [str(d) for d in calibration],
                                  **{k: dataclasses.asdict(t) for k, t in fixed.items()}}
        out["aa_spread"] = aa_spread(base)
        out["resolution_floor"] = resolution_floor(base)
        for name, normalise in (("rounds", False), ("rounds_reference", True)):
            out[name] = separate_verdicts(base, seeded, normalise, fixed)
        out["pooled_before"] = pooled_verdicts(base, seeded)
        sizes = [k for k in RUN_SETS if 2 * k <= len(base) and k <= len(seeded)]
        for name, normalise in (("run_sets", False), ("run_sets_reference", True)):
            out[name] = {f"{k}_runs_a_side": set_verdicts(base, seeded, k, normalise, fixed) for k in sizes}
    if ci.is_dir():
        out["ci"] = ci_verdicts(ci)
    return out


def _index(path: Path) -> int:
    return int(path.stem.rsplit("-", 1)[1])


def aa_spread(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """How far apart unchanged runs are, with and without the reference: between-run sd (log)."""
    from shapeprof.regression.calibrate import between_run_sd, cell_logs

    return {name: round(between_run_sd(list(cell_logs(runs, normalise).values())), 4)
            for name, normalise in (("between_run_sd_raw", False), ("between_run_sd_reference", True))}


def resolution_floor(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """What one run a side can resolve on these unchanged runs (divided by the reference), with
    the packaged p_value and power: the smallest detectable change from the between-run part
    alone (no number of rounds removes it) and at the runs' rounds; the largest between-run sd
    that would resolve regression_ratio even with noiseless rounds; the runs a side that would
    resolve it at these rounds."""
    import math

    from shapeprof.regression.calibrate import between_run_sd, cell_logs
    from shapeprof.regression.resolution import Noise, fewest_to_resolve, level_within_var, pooled_round_sd
    from shapeprof.regression.thresholds import load_thresholds

    t = load_thresholds()
    logs = list(cell_logs(runs, True).values())
    between, within = between_run_sd(logs), pooled_round_sd([r for cell in logs for r in cell])
    rounds = min(r.size for cell in logs for r in cell)
    level = between ** 2 + level_within_var(within, rounds)     # one run's level variance

    def detectable(var: float) -> float:
        return Noise(0.0, math.sqrt(var), math.inf).detectable(t.p_value, t.power)

    k = fewest_to_resolve(lambda k: Noise(0.0, math.sqrt(2 * level / k), math.inf), 1, 100, t)
    scale = detectable(1.0)          # exp(z_p + z_power): log detectable per unit se
    return {"threshold": t.regression_ratio, "between_run_sd": round(between, 4),
            "within_run_sd": round(within, 4), "rounds": rounds,
            "detectable_between_only": round(detectable(2 * between ** 2), 3),
            "detectable_one_run_a_side": round(detectable(2 * level), 3),
            "between_run_sd_that_resolves": round(math.log(t.regression_ratio) / math.log(scale) / math.sqrt(2), 4),
            "runs_a_side_that_resolve": k}


def _rest(runs: list[dict[str, Any]], leave: tuple[int, ...]) -> list[dict[str, Any]]:
    return [r for k, r in enumerate(runs) if k not in leave]


def earlier_calibration(folders: list[Path]) -> dict[bool, Any]:
    """The packaged thresholds with the between-run sd that ``shapeprof calibrate --results``
    gives on the base runs of ``folders`` (one group: drift between the sets counts), raw
    (False) and divided by the reference (True)."""
    from shapeprof.regression.calibrate import calibrate, load_runs
    from shapeprof.regression.thresholds import load_thresholds

    empty = [d for d in folders if not any(d.glob("base-*.json"))]
    if empty:
        raise CompareError(f"--calibration {str(empty[0])!r} holds no base-*.json runs; give a folder "
                           "that --stage separate filled (WORK/gate/separate-g24)")
    runs = load_runs([p for d in folders for p in sorted(d.glob("base-*.json"), key=_index)])
    out = {}
    for normalise in (False, True):
        got = calibrate(runs, 0.05, normalise=normalise).suggested
        out[normalise] = dataclasses.replace(load_thresholds(), between_run_sd=got.between_run_sd)
    return out


def _calibrated(groups: list[list[dict[str, Any]]], normalise: bool, fixed: dict[bool, Any] | None = None
                ) -> Any:
    """``fixed[normalise]`` when given (an earlier calibration), else the packaged thresholds with
    between_run_sd calibrated on ``groups`` (each a list of runs of one model; groups of fewer
    than 2 runs add nothing): its mean over every group's cells."""
    from shapeprof.regression.calibrate import between_run_sd, cell_logs
    from shapeprof.regression.thresholds import load_thresholds

    if fixed:
        return fixed[normalise]
    cells = [runs for g in groups if len(g) >= 2 for runs in cell_logs(g, normalise).values()]
    return dataclasses.replace(load_thresholds(), between_run_sd=between_run_sd(cells))


def separate_verdicts(base: list, seeded: list, normalise: bool, fixed: dict | None = None) -> dict[str, Any]:
    """compare on ordered A/A pairs and on base i vs seeded j; between_run_sd left-one-out."""
    from shapeprof.regression import compare_results

    aa, caught, verdicts = 0, {}, {}
    pairs = list(itertools.permutations(range(len(base)), 2))
    for i, j in pairs:
        t = _calibrated([_rest(base, (i, j))], normalise, fixed)
        cmp = compare_results(base[i], base[j], thresholds=t, normalise=normalise)
        aa += cmp.count("regression") > 0
        for c in cmp.cells:
            verdicts.setdefault(c.verdict, 0)
            verdicts[c.verdict] += 1
    for i, j in itertools.product(range(len(base)), range(len(seeded))):
        t = _calibrated([_rest(base, (i,))], normalise, fixed)
        cmp = compare_results(base[i], seeded[j], thresholds=t, normalise=normalise)
        for c in cmp.cells:
            caught.setdefault(c.label, []).append(c.verdict == "regression")
    return {"aa_pairs": len(pairs), "aa_false_alarms": aa, "aa_cell_verdicts": verdicts,
            "seeded_pairs": len(base) * len(seeded),
            "seeded_caught_share": {k: round(sum(v) / len(v), 3) for k, v in caught.items()}}


def set_verdicts(base: list, seeded: list, k: int, normalise: bool = False, fixed: dict | None = None
                 ) -> dict[str, Any]:
    """compare on run sets of ``k`` runs a side (raw, or divided by the reference with
    ``normalise``): A/A over the ordered pairs of disjoint base sets, the seed over every base
    set x seeded set. between_run_sd is
    calibrated on every run outside the comparison (the base runs in neither set and the seeded
    runs not compared, each model's runs a group), as ``separate_verdicts`` leaves its pair out;
    compare itself also estimates the sets' own spread and uses it when larger."""
    from shapeprof.regression import compare_results

    sets = list(itertools.combinations(range(len(base)), k))
    seeded_sets = list(itertools.combinations(range(len(seeded)), k))
    aa_pairs = [(a, b) for a, b in itertools.permutations(sets, 2) if not set(a) & set(b)]
    aa, verdicts, used = 0, {}, []
    for a, b in aa_pairs:
        t = _calibrated([_rest(base, a + b), seeded], normalise, fixed)
        cmp = compare_results([base[i] for i in a], [base[j] for j in b], thresholds=t, normalise=normalise)
        aa += cmp.count("regression") > 0
        used.append(cmp.between_run_sd)
        for c in cmp.cells:
            verdicts[c.verdict] = verdicts.get(c.verdict, 0) + 1
    caught: dict[str, list[bool]] = {}
    for a, s in itertools.product(sets, seeded_sets):
        t = _calibrated([_rest(base, a), _rest(seeded, s)], normalise, fixed)
        cmp = compare_results([base[i] for i in a], [seeded[j] for j in s], thresholds=t,
                              normalise=normalise)
        used.append(cmp.between_run_sd)
        for c in cmp.cells:
            caught.setdefault(c.label, []).append(c.verdict == "regression")
    return {"aa_set_pairs": len(aa_pairs), "aa_false_alarms": aa, "aa_cell_verdicts": verdicts,
            "seeded_set_pairs": len(sets) * len(seeded_sets),
            "seeded_caught_share": {k: round(sum(v) / len(v), 3) for k, v in caught.items()},
            "between_run_sd_used_median": round(float(np.median(used)), 4)}


def pooled_verdicts(base: list, seeded: list) -> dict[str, Any]:
    """The test compare used before (pooled samples, bootstrap + Mann-Whitney)."""
    from shapeprof.regression.stats import ratio_test
    from shapeprof.regression.thresholds import load_thresholds

    t = load_thresholds()

    def flagged(a: dict, b: dict) -> list[tuple[str, bool]]:
        return [(f"{x['batch_size']}x{x['sequence_length']}",
                 ratio_test(x["samples_ms"], y["samples_ms"], t).verdict == "regression")
                for x, y in zip(a["cells"], b["cells"])]

    aa = sum(any(f for _, f in flagged(base[i], base[j]))
             for i, j in itertools.permutations(range(len(base)), 2))
    caught: dict[str, list[bool]] = {}
    for a, b in itertools.product(base, seeded):
        for label, f in flagged(a, b):
            caught.setdefault(label, []).append(f)
    return {"aa_false_alarms": aa, "seeded_caught_share": {k: round(sum(v) / len(v), 3)
                                                           for k, v in caught.items()}}


def ci_verdicts(ci: Path) -> dict[str, Any]:
    """The paired CI comparisons with configs/ci.yaml's thresholds, on CPU time (what CI mode
    picks with one thread) and on wall time: timing gates, resolvability, and the seed's
    slowdown (geometric mean of its paired ratios over the seeded runs)."""
    from shapeprof.regression.thresholds import thresholds_from_mapping
    from shapeprof.runspec import load_spec

    t = thresholds_from_mapping(load_spec(CI_SPEC).thresholds, "ci.yaml")
    return {metric: {kind: _ci_kind(ci, kind, t, metric) for kind in ("aa", "seeded")}
            for metric in ("cpu", "wall")}


def _ci_kind(ci: Path, kind: str, t: Any, metric: str) -> dict[str, Any]:
    import math

    from shapeprof.regression import compare_results
    from shapeprof.regression.calibrate import load_runs

    found = sorted(ci.glob(f"{kind}-*-candidate.json"), key=lambda p: int(p.stem.split("-")[1]))
    cmps = [compare_results(*load_runs([str(p).replace("-candidate", "-base"), p]), thresholds=t,
                            paired=True, metric=metric) for p in found]
    ratios: dict[str, list[float]] = {}
    for cmp in cmps:
        for c in cmp.cells:
            ratios.setdefault(c.label, []).append(math.log(c.test.ratio))
    return {"runs": len(cmps), "timing_gate_failed": sum(c.count("regression") > 0 for c in cmps),
            "cells_resolvable": f"{sum(not x.verdict == 'not resolvable' for c in cmps for x in c.cells)}"
                                f" of {sum(len(c.cells) for c in cmps)}",
            "detectable_median": {k: round(float(np.median([x.test.detectable for c in cmps
                                                            for x in c.cells if x.label == k])), 3)
                                  for k in ratios},
            "regression_cells": {k: sum(x.verdict == "regression" for c in cmps for x in c.cells
                                        if x.label == k) for k in ratios},
            "mean_ratio": {k: round(math.exp(sum(v) / len(v)), 3) for k, v in ratios.items()}}


if __name__ == "__main__":
    main()
