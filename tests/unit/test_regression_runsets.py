"""Run sets: several separate runs a side of ``shapeprof compare``, on synthetic runs whose
levels are drawn with this machine's between-run sd (0.054, log scale)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shapeprof.regression import Thresholds, compare_files, compare_results, markdown_report
from shapeprof.regression.resolution import set_noise

BETWEEN = 0.054                                   # the calibrated between-run sd of this machine
T = Thresholds(between_run_sd=BETWEEN)
CELLS = {(1, 16): 5.0, (8, 16): 14.0, (8, 64): 40.0}
ROUNDS, PER_ROUND = 5, 6


def bench_run(seed: int, factor: float = 1.0, between: float = BETWEEN, rounds: int = ROUNDS,
              offset: float | None = None) -> dict:
    """One separate run: each cell's level drawn with sd ``between`` (log; or moved by
    ``offset``), its rounds around it with sd 0.01, a round's samples around it with sd 0.005."""
    rng = np.random.default_rng(seed)
    cells = []
    for (b, n), ms in CELLS.items():
        drawn = rng.normal(0.0, between)
        level = factor * ms * math.exp(drawn if offset is None else offset)
        values = level * np.exp(rng.normal(0.0, 0.01, rounds))
        samples = [float(v * (1.0 + 0.005 * e)) for v in values for e in rng.standard_normal(PER_ROUND)]
        cells.append({"variant": "onnx", "runtime": "onnxruntime", "batch_size": b, "sequence_length": n,
                      "input_source": "random", "samples_ms": samples, "rounds": rounds,
                      "round_sizes": [PER_ROUND] * rounds})
    return {"schema_version": 4, "kind": "shapeprof.bench", "created": "2026-12-01T00:00:00+00:00",
            "model": {"model_type": "bert", "task": "feature-extraction", "op_counts": {"MatMul": 42}},
            "settings": {"intra_op_threads": 1, "rounds": rounds}, "environment": {}, "cells": cells,
            "reference": None}


def runs(first_seed: int, count: int, factor: float = 1.0, between: float = BETWEEN) -> list[dict]:
    return [bench_run(first_seed + i, factor, between) for i in range(count)]


def verdicts(cmp) -> set[str]:
    return {c.verdict for c in cmp.cells}


def test_one_run_a_side_cannot_resolve_a_125x_seed_four_runs_a_side_catch_it():
    """Run levels at the quartile midpoints of the between-run spread (both sides alike): one
    run a side at the same level is the seed exactly, yet not resolvable; four runs a side call
    it a regression."""
    offsets = BETWEEN * np.array([-1.15, -0.32, 0.32, 1.15])
    base = [bench_run(i, offset=o) for i, o in enumerate(offsets)]
    seeded = [bench_run(10 + i, factor=1.25, offset=o) for i, o in enumerate(offsets)]
    one = compare_results(base[0], seeded[0], thresholds=T)
    assert all(c.test.ratio == pytest.approx(1.25, rel=0.02) for c in one.cells)
    assert verdicts(one) == {"not resolvable"} and not one.gate_failed
    assert all(c.test.detectable > 1.3 and c.test.rounds_needed is None for c in one.cells)
    four = compare_results(base, seeded, thresholds=T)
    assert four.runs == (4, 4) and verdicts(four) == {"regression"} and four.gate_failed
    assert all(c.test.low >= T.regression_ratio for c in four.cells)
    # the between-run part shrinks with the runs: the standard error about halves at 4 a side
    assert all(f.test.se < 0.65 * o.test.se for f, o in zip(four.cells, one.cells))


def test_drawn_run_levels_one_run_a_side_mostly_unresolved_four_mostly_caught():
    one, four = [], []
    for k in range(10):
        base, seeded = runs(10 * k, 4), runs(1000 + 10 * k, 4, factor=1.25)
        one += [c.verdict for c in compare_results(base[0], seeded[0], thresholds=T).cells]
        four += [c.verdict for c in compare_results(base, seeded, thresholds=T).cells]
    assert one.count("not resolvable") >= 0.6 * len(one) and "same" not in one
    assert four.count("regression") >= 0.8 * len(four)


def test_aa_run_sets_of_three_are_not_a_regression():
    for first in (200, 300, 400):
        cmp = compare_results(runs(first, 3), runs(first + 50, 3), thresholds=T)
        assert cmp.runs == (3, 3) and cmp.count("regression") == 0 and not cmp.gate_failed


def test_a_noisier_machine_than_calibrated_raises_no_false_alarm(monkeypatch):
    """Runs drawn with a between-run sd of 0.15 against a calibration of 0.054: the spread the
    sets show is used, where the calibrated value alone calls drift a regression."""
    import shapeprof.regression.compare as compare

    pairs = [(runs(1000 + 10 * k, 3, between=0.15), runs(5000 + 10 * k, 3, between=0.15)) for k in range(30)]
    got = [compare_results(b, c, thresholds=T) for b, c in pairs]
    assert 0.1 < np.mean([g.set_between_sd for g in got]) < 0.2
    assert all(g.between_run_sd == max(BETWEEN, g.set_between_sd) for g in got)
    monkeypatch.setattr(compare, "_set_spread", lambda *args: None)
    calibrated = [compare_results(b, c, thresholds=T) for b, c in pairs]
    assert all(g.between_run_sd == BETWEEN for g in calibrated)
    alarms = [sum(g.count("regression") > 0 for g in x) for x in (got, calibrated)]
    assert alarms[0] == 0 and alarms[1] >= 3, alarms


def test_the_data_spread_is_estimated_only_with_two_runs_on_both_sides():
    assert compare_results(runs(0, 1)[0], runs(10, 4), thresholds=T).set_between_sd is None
    got = compare_results(runs(0, 2), runs(10, 4), thresholds=T)
    assert got.set_between_sd is not None and got.to_dict()["runs"] == {"base": 2, "candidate": 4}


def test_a_set_of_one_is_todays_two_run_comparison_exactly(tmp_path):
    a, b = bench_run(1), bench_run(2, factor=1.3)
    assert compare_results([a], [b], thresholds=T).to_dict() == compare_results(a, b, thresholds=T).to_dict()
    # today's two-run variance: within^2 * pi/2 * (1/n + 1/m) + 2 * between^2, as known scales
    x, y = np.log([1.0, 1.1, 0.9, 1.05]), np.log([1.2, 1.3, 1.25])
    noise = set_noise([x], [y], 0.05, 0.03)
    assert noise.mean == float(np.median(y) - np.median(x))
    assert noise.se == math.sqrt(0.03 ** 2 * (math.pi / 2.0) * (1 / 4 + 1 / 3) + 2.0 * 0.05 ** 2)
    for name, run in (("a", a), ("b", b)):
        (tmp_path / name).mkdir()
        write(tmp_path / name / "run.json", run)
    files = compare_files(tmp_path / "a" / "run.json", tmp_path / "b" / "run.json", thresholds=T)
    dirs = compare_files(tmp_path / "a", str(tmp_path / "b"), thresholds=T)
    assert markdown_report(files) == markdown_report(dirs) and "run set" not in markdown_report(dirs)


def test_the_variance_shrinks_with_the_runs_as_stated():
    sides = [[np.log([1.0, 1.02, 0.99])] * 3, [np.log([1.1, 1.12, 1.09])] * 2]
    noise = set_noise(*sides, 0.05, 0.03)
    expected = (0.05 ** 2 + 0.03 ** 2 * math.pi / 2 / 3) * (1 / 3 + 1 / 2)
    assert noise.se == pytest.approx(math.sqrt(expected), rel=1e-12)
    twelve = set_noise(*sides, 0.05, 0.03, runs=12)           # 12 runs a side: 1/12 + 1/12
    assert twelve.se == pytest.approx(math.sqrt(expected / (5 / 6) * (2 / 12)))


def test_the_report_names_the_runs_a_side_and_the_runs_needed():
    one = markdown_report(compare_results(runs(0, 1)[0], runs(100, 1, factor=1.0)[0], thresholds=T))
    needed = compare_results(runs(0, 1)[0], runs(100, 1)[0], thresholds=T).cells[0].test.runs_needed
    assert needed is not None and needed > 4
    assert f"runs a side (at these rounds) would resolve 1.1x" in one.split("matched cells")[0]
    sets = markdown_report(compare_results(runs(0, 3), runs(100, 2), thresholds=T), "base/", "a.json,b.json")
    assert "`a.json,b.json` (2 runs) vs `base/` (3 runs)" in sets
    assert "- run sets: 3 base and 2 candidate runs" in sets and "estimated from the run sets" in sets
    top = sets.split("matched cells")[0]
    worst = max(c.test.runs_needed for c in compare_results(runs(0, 3), runs(100, 2), thresholds=T).cells
                if c.verdict == "not resolvable")
    assert f"{worst} runs a side (at these rounds)" in top


def write(path: Path, data: dict) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shapeprof", "compare", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def run_dirs(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """A base directory of 3 runs and 3 seeded files (1.3x), given as a comma list."""
    (tmp_path / "base").mkdir()
    for i, run in enumerate(runs(0, 3)):
        write(tmp_path / "base" / f"base-{i}.json", run)
    seeded = [write(tmp_path / f"seeded-{i}.json", run) for i, run in enumerate(runs(100, 3, factor=1.3))]
    return tmp_path, tmp_path / "base", seeded


def test_cli_takes_a_directory_and_a_comma_list(run_dirs):
    tmp, base, seeded = run_dirs
    thresholds = tmp / "t.yaml"
    thresholds.write_text(f"between_run_sd: {BETWEEN}\n")
    proc = cli(str(base), ",".join(seeded), "--thresholds", str(thresholds))
    assert proc.returncode == 1, proc.stderr
    assert "REGRESSION" in proc.stdout and "(3 runs) vs" in proc.stdout
    listed = ",".join(str(p) for p in sorted(base.glob("*.json")))
    same = cli(str(base), listed, "--thresholds", str(thresholds))
    assert same.returncode == 0 and same.stdout.startswith("## shapeprof compare: PASS")
    assert "(3 runs) vs" in same.stdout and "| 1.000 |" in same.stdout


def _ci_file(run: dict) -> dict:
    out = json.loads(json.dumps(run))
    out["settings"]["rounds"] = 1                 # shapeprof ci merges one-round benchmarks
    return out


@pytest.mark.parametrize("case, needle", [
    ("empty_dir", "base directory"),
    ("not_results_dir", "base results"),
    ("not_results_file", "candidate results"),
    ("other_grid", "differ in the cells they measure"),
    ("other_model_facts", "differ in op_counts"),
    ("ci_file", "written by 'shapeprof ci'"),
    ("ci_marked", "written by 'shapeprof ci'"),
    ("missing", "candidate cannot read results"),
    ("empty_entry", "has an empty entry"),
])
def test_bad_run_sets_are_one_line_exit_2(run_dirs, case, needle):
    tmp, base, seeded = run_dirs
    (tmp / "empty").mkdir()
    other = runs(7, 1)[0]
    other["cells"] = other["cells"][:2]
    facts = runs(8, 1)[0]
    facts["model"]["op_counts"] = {"MatMul": 66}
    marked = runs(9, 1)[0]
    marked["extra"] = {"interleaved": True}
    (tmp / "junk").mkdir()
    write(tmp / "junk" / "notes.json", {"schema_version": 4, "kind": "shapeprof.bench", "cells": []})
    args = {"empty_dir": (str(tmp / "empty"), seeded[0]),
            "not_results_dir": (str(tmp / "junk"), seeded[0]),
            "not_results_file": (str(base), f"{seeded[0]},{write(tmp / 'x.json', {'a': 1})}"),
            "other_grid": (str(base), f"{seeded[0]},{write(tmp / 'o.json', other)}"),
            "other_model_facts": (str(base), f"{seeded[0]},{write(tmp / 'f.json', facts)}"),
            "ci_file": (str(base), f"{seeded[0]},{write(tmp / 'c.json', _ci_file(runs(9, 1)[0]))}"),
            "ci_marked": (str(base), f"{seeded[0]},{write(tmp / 'm.json', marked)}"),
            "missing": (str(base), f"{seeded[0]},{tmp / 'nope.json'}"),
            "empty_entry": (str(base), f"{seeded[0]},,{seeded[1]}")}[case]
    proc = cli(*args)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and needle in lines[0], proc.stderr


def test_one_ci_file_a_side_is_still_compared_as_today():
    a, b = _ci_file(bench_run(1)), _ci_file(bench_run(2))
    assert compare_results(a, b, thresholds=T).runs == (1, 1)
    with pytest.raises(Exception, match="one run a side"):
        compare_results([a, a], [b], paired=True)


def test_gate_evaluation_of_run_sets_reads_saved_runs_only(tmp_path, monkeypatch, gate_calibration, capsys):
    """benchmarks/gate_calibration.py --stage evaluate: no export or bench; run-set figures over
    disjoint A/A set pairs and every base set x seeded set."""
    gate = gate_calibration
    separate = tmp_path / "gate" / "separate-g24"
    separate.mkdir(parents=True)
    for i in range(4):
        write(separate / f"base-{i}.json", bench_run(i))
        write(separate / f"seeded-{i}.json", bench_run(100 + i, factor=1.3))

    def no_work(*args):
        raise AssertionError("the evaluate stage must not export or run benchmarks")

    for name in ("model_dirs", "seeded_copy", "separate_runs", "ci_runs"):
        monkeypatch.setattr(gate, name, no_work)
    out = tmp_path / "figures.json"
    monkeypatch.setattr(sys, "argv", ["gate_calibration.py", "--work-dir", str(tmp_path), "--stage",
                                      "evaluate", "-o", str(out)])
    gate.main()
    capsys.readouterr()
    got = json.loads(out.read_text())["run_sets"]
    assert list(got) == ["2_runs_a_side"]                  # 3 a side needs 6 base runs
    two = got["2_runs_a_side"]
    assert two["aa_set_pairs"] == 6 and two["seeded_set_pairs"] == 36 and two["aa_false_alarms"] == 0
    assert set(two["seeded_caught_share"]) == {"onnx 1x16", "onnx 8x16", "onnx 8x64"}
    assert max(two["seeded_caught_share"].values()) > 0.5 and two["between_run_sd_used_median"] > 0.03
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figures.json", "gate"]   # nothing else written


def test_gate_evaluation_with_an_earlier_calibration_and_the_one_run_floor(tmp_path, monkeypatch, gate_calibration,
                                                                           capsys):
    """--calibration: an earlier set's base runs give between_run_sd for every comparison; the
    resolution floor says what one run a side can resolve on the set's unchanged runs."""
    from shapeprof.regression.calibrate import calibrate

    gate = gate_calibration
    earlier, separate = tmp_path / "earlier", tmp_path / "gate" / "separate-g24"
    for folder, first in ((earlier, 200), (separate, 0)):
        folder.mkdir(parents=True)
        for i in range(4):
            write(folder / f"base-{i}.json", bench_run(first + i))
            write(folder / f"seeded-{i}.json", bench_run(first + 100 + i, factor=1.3))
    out = tmp_path / "figures.json"
    monkeypatch.setattr(sys, "argv", ["gate_calibration.py", "--work-dir", str(tmp_path), "--stage", "evaluate",
                                      "--calibration", str(earlier), "-o", str(out)])
    gate.main()
    capsys.readouterr()
    got = json.loads(out.read_text())
    wanted = calibrate([bench_run(200 + i) for i in range(4)], 0.05, normalise=False).suggested.between_run_sd
    assert got["calibration"]["false"]["between_run_sd"] == pytest.approx(wanted)
    floor = got["resolution_floor"]
    assert 0.02 < floor["between_run_sd"] < 0.12 and floor["rounds"] == ROUNDS
    k = math.log(floor["threshold"]) / floor["between_run_sd_that_resolves"] / math.sqrt(2)   # z_p + z_power
    assert k == pytest.approx(3.090 + 1.282, rel=0.01)
    assert floor["detectable_between_only"] == pytest.approx(math.exp(k * math.sqrt(2) * floor["between_run_sd"]),
                                                             abs=2e-3)
    assert floor["detectable_between_only"] < floor["detectable_one_run_a_side"]
    assert floor["runs_a_side_that_resolve"] > 1


def test_gate_evaluation_with_an_empty_calibration_folder_is_one_line_exit_2(tmp_path, monkeypatch,
                                                                             gate_calibration, capsys):
    separate = tmp_path / "gate" / "separate-g24"
    separate.mkdir(parents=True)
    for i in range(4):
        write(separate / f"base-{i}.json", bench_run(i))
    (tmp_path / "empty").mkdir()
    out = tmp_path / "figures.json"
    monkeypatch.setattr(sys, "argv", ["gate_calibration.py", "--work-dir", str(tmp_path), "--stage", "evaluate",
                                      "--calibration", str(tmp_path / "empty"), "-o", str(out)])
    with pytest.raises(SystemExit) as exit_:
        gate_calibration.main()
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and "holds no base-*.json runs" in err[0]
    assert not out.exists()
