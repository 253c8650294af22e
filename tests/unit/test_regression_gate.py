"""The gate's statistics on synthetic runs with known drift: separate runs, the reference
workload, what the data can resolve, calibration, and CI mode's gating decisions."""

from __future__ import annotations

import copy
import itertools
import json
import math

import numpy as np
import pytest

from shapeprof.cli import main
from shapeprof.regression import Thresholds, compare_results, load_thresholds, markdown_report
from shapeprof.regression.calibrate import calibrate
from shapeprof.regression.stats import separate_ratio_test

ROUNDS, PER_ROUND = 5, 6
CELLS = {(1, 16): 5.0, (8, 64): 40.0}


def bench_run(level: float, seed: int, factor: float = 1.0, rounds: int = ROUNDS, noise: float = 0.02,
              reference: bool = True) -> dict:
    """A results mapping: every cell and the reference share the run's ``level`` and each
    round's drift; ``factor`` slows the cells (not the reference); ``noise`` is per round."""
    rng = np.random.default_rng(seed)
    drift = np.exp(rng.normal(0.0, 0.05, rounds))
    cells = []
    for (b, n), ms in CELLS.items():
        medians = factor * ms * level * drift * np.exp(rng.normal(0.0, noise, rounds))
        samples = [float(m * (1 + 0.005 * e)) for m in medians for e in rng.standard_normal(PER_ROUND)]
        cells.append({"variant": "onnx", "runtime": "onnxruntime", "batch_size": b, "sequence_length": n,
                      "input_source": "random", "samples_ms": samples, "round_sizes": [PER_ROUND] * rounds})
    ref = [float(2.0 * level * d * (1 + 0.005 * e)) for d in drift for e in rng.standard_normal(3)]
    return {"schema_version": 4, "kind": "shapeprof.bench", "model": {"model_type": "bert",
            "task": "feature-extraction"}, "settings": {"intra_op_threads": 1}, "environment": {},
            "cells": cells, "reference": {"workload": "test", "samples_ms": ref,
                                          "round_sizes": [3] * rounds} if reference else None}


def aa_runs(count: int = 6, between: float = 0.12, reference: bool = False) -> list[dict]:
    """Unchanged builds measured at different times: run levels spread by ``between`` (log sd)."""
    levels = np.exp(np.random.default_rng(99).normal(0.0, between, count))
    return [bench_run(float(lv), seed=i, reference=reference) for i, lv in enumerate(levels)]


def pooled(run: dict) -> dict:
    out = copy.deepcopy(run)
    for c in out["cells"]:
        c["round_sizes"] = []        # a file without rounds: compare falls back to the pooled test
    return out


def flagged(a: dict, b: dict, t: Thresholds, normalise: bool = False) -> bool:
    return compare_results(a, b, thresholds=t, normalise=normalise).count("regression") > 0


def test_drift_between_runs_false_alarms_the_pooled_test_not_the_round_test():
    runs = aa_runs()
    pairs = list(itertools.permutations(range(len(runs)), 2))
    before = sum(flagged(pooled(runs[i]), pooled(runs[j]), Thresholds(bootstrap=200)) for i, j in pairs)
    assert before >= 8                              # the old test calls the drift a regression
    no_between = sum(flagged(runs[i], runs[j], Thresholds()) for i, j in pairs)
    assert no_between >= 5                          # so do round medians without a between-run term
    cal = calibrate(runs, 0.05, normalise=False)
    assert 0.06 < cal.between_run_sd < 0.25         # the spread put in: 0.12
    t = Thresholds(between_run_sd=cal.between_run_sd)
    assert sum(flagged(runs[i], runs[j], t) for i, j in pairs) == 0
    assert cal.false_alarms == 0
    # a true 30% slowdown between runs this noisy is still found with enough rounds
    base = bench_run(1.0, 10, rounds=20, noise=0.01, reference=False)
    slower = bench_run(1.0, 20, factor=1.3, rounds=20, noise=0.01, reference=False)
    cmp = compare_results(base, slower, thresholds=Thresholds(between_run_sd=0.02), normalise=False)
    assert {c.verdict for c in cmp.cells} == {"regression"}


def test_reference_cancels_the_run_level_and_a_true_slowdown_is_caught():
    runs = aa_runs(reference=True)
    assert calibrate(runs, 0.05, normalise=True).between_run_sd < 0.02 < calibrate(
        runs, 0.05, normalise=False).between_run_sd
    t = Thresholds(between_run_sd=0.01)
    slower = bench_run(1.3, seed=50, factor=1.25, rounds=8, noise=0.01)   # machine 30% slower too
    cmp = compare_results(bench_run(0.9, seed=51, rounds=8, noise=0.01), slower, thresholds=t, normalise=True)
    assert [c.method for c in cmp.cells] == ["rounds/reference"] * 2
    assert {c.verdict for c in cmp.cells} == {"regression"} and cmp.gate_failed
    assert all(c.test.ratio == pytest.approx(1.25, rel=0.04) for c in cmp.cells)
    for i, j in itertools.permutations(range(len(runs)), 2):
        assert not flagged(runs[i], runs[j], t, normalise=True)


def test_too_few_rounds_is_not_resolvable_and_says_how_many_would_be():
    base, cand = bench_run(1.0, 1, rounds=3, noise=0.08), bench_run(1.0, 2, rounds=3, noise=0.08)
    cmp = compare_results(base, cand, thresholds=Thresholds(between_run_sd=0.005), normalise=False)
    assert {c.verdict for c in cmp.cells} == {"not resolvable"} and not cmp.gate_failed
    assert all(c.test.detectable > 1.10 and c.test.rounds_needed > 3 for c in cmp.cells)
    report = markdown_report(cmp)
    top = report.split("matched cells")[0]
    assert "**Timings not resolvable**: 2 of 2 cells" in top and "rounds per run would resolve" in top
    drifting = compare_results(base, cand, thresholds=Thresholds(between_run_sd=0.2), normalise=False)
    assert all(c.test.rounds_needed is None for c in drifting.cells)
    assert "more rounds cannot resolve" in markdown_report(drifting)


def test_whole_interval_beyond_the_threshold_decides_even_when_not_resolvable():
    t = Thresholds(between_run_sd=0.05)
    base = np.array([10.0, 10.5, 9.8, 10.2])
    got = separate_ratio_test(base, 2.0 * base[::-1], t)
    assert got.detectable > 1.10 and got.low > 1.10 and got.verdict == "regression"
    assert separate_ratio_test(base, base * 1.02, t).verdict == "not resolvable"


def paired(factor: float, noise: float, rounds: int, seed: int = 0) -> tuple[dict, dict]:
    """Interleaved runs: both sides share each round's drift (large), then their own noise."""
    rng = np.random.default_rng(seed)
    drift = np.exp(rng.normal(0.0, 0.25, rounds))
    out = []
    for f in (1.0, factor):
        run = bench_run(1.0, seed, rounds=rounds, reference=False)
        for c, ms in zip(run["cells"], CELLS.values()):
            medians = f * ms * drift * np.exp(rng.normal(0.0, noise, rounds))
            c["samples_ms"] = [float(m) for m in medians for _ in range(PER_ROUND)]
        out.append(run)
    return out[0], out[1]


def test_ci_mode_gates_resolvable_timings_by_default():
    base, slower = paired(1.15, 0.01, rounds=8)
    cmp = compare_results(base, slower, paired=True)
    assert {c.verdict for c in cmp.cells} == {"regression"} and cmp.gate_failed
    assert cmp.overall_detectable < 1.05
    informational = compare_results(base, slower, paired=True, timings_gate=False)
    assert not informational.gate_failed
    same = compare_results(*paired(1.0, 0.01, rounds=8, seed=3), paired=True)
    assert not same.gate_failed and {c.verdict for c in same.cells} <= {"same", "noise"}


def test_ci_mode_does_not_gate_what_it_cannot_resolve_and_says_so_at_the_top():
    base, slower = paired(1.15, 0.12, rounds=3, seed=4)
    cmp = compare_results(base, slower, paired=True)
    assert {c.verdict for c in cmp.cells} == {"not resolvable"} and not cmp.gate_failed
    report = markdown_report(cmp)
    assert report.index("Timings not resolvable") < report.index("matched cells")
    json.dumps(cmp.to_dict())                       # storable: plain per-cell dicts


def write(path, data) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def test_calibrate_writes_loadable_thresholds(tmp_path, capsys):
    files = [write(tmp_path / f"run-{i}.json", r) for i, r in enumerate(aa_runs(4, reference=True))]
    out = tmp_path / "thresholds.yaml"
    assert main(["calibrate", "--results", *files, "--false-alarm-rate", "0.1", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# Calibrated by 'shapeprof calibrate' from 4 separate runs")
    assert "A/A ratios over 12 ordered pairs x 2 cells" in text
    t = load_thresholds(out)
    assert t.regression_ratio >= 1.01 and 1.0 < t.warning_ratio <= t.regression_ratio
    assert 0.0 <= t.between_run_sd < 0.05


@pytest.mark.parametrize("args, needle", [
    (["--false-alarm-rate", "0.7"], "--false-alarm-rate must lie strictly between 0 and 0.5"),
    (["--runs", "2"], "calibration needs --runs >= 3"),
    (["--results", "a.json"], "--results needs at least 3 runs"),
    ([], "give MODEL_DIR to run the benchmark, or --results"),
    (["--runs", "0"], "expected an integer >= 1"),
])
def test_calibrate_bad_input_is_one_line_exit_2(tmp_path, capsys, args, needle):
    model = [str(tmp_path)] if "--results" not in args and args else []
    out = tmp_path / "t.yaml"
    assert main(["calibrate", *model, *args, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0] and not out.exists()


def test_calibrate_rejects_runs_of_different_benchmarks(tmp_path, capsys):
    runs = aa_runs(3)
    runs[2]["cells"] = [dict(c, batch_size=c["batch_size"] + 1) for c in runs[2]["cells"]]
    files = [write(tmp_path / f"run-{i}.json", r) for i, r in enumerate(runs)]
    assert main(["calibrate", "--results", *files, "-o", str(tmp_path / "t.yaml")]) == 2
    assert "no cell is in every run" in capsys.readouterr().err


def test_ci_contradictory_timing_flags_stop_before_work(capsys):
    assert main(["ci", "--gate-timings", "--timings-informational"]) == 2
    assert "contradict" in capsys.readouterr().err


def test_overall_detectable_counts_the_between_run_part_once():
    t = Thresholds(between_run_sd=0.03)
    cmp = compare_results(bench_run(1.0, 1), bench_run(1.0, 2), thresholds=t, normalise=False)
    assert all(math.isfinite(c.test.se) for c in cmp.cells)
    assert cmp.overall_detectable < max(c.test.detectable for c in cmp.cells)
    assert cmp.overall_detectable > math.exp(4 * math.sqrt(2) * 0.03)   # the shared part stays
    from shapeprof.regression.resolution import overall_detectable

    normal = overall_detectable([c.test.se for c in cmp.cells], 2 * 0.03 ** 2, t)
    assert cmp.overall_detectable == pytest.approx(normal)   # separate runs: scales counted as known


def test_reference_workload_is_timed_per_round_and_kept_in_the_results(tmp_path):
    from shapeprof.bench.reference import ReferenceTimer
    from shapeprof.bench.results import BenchResults
    from shapeprof.bench.runner import SessionSettings
    from shapeprof.regression.ci import _merge

    timer = ReferenceTimer(SessionSettings())
    for r in (0, 0, 1):
        timer.time(r)
    ref = timer.result()
    assert ref is not None and len(ref.round_sizes) == 2 and ref.round_medians().size == 2
    # each slice runs for its time: at least 3 calls, and at least 50 ms of them
    assert ref.round_sizes[0] >= 6 and ref.round_sizes[1] >= 3
    first = np.array(ref.samples_ms[:ref.round_sizes[0]])
    assert first.sum() >= 90.0                                 # two slices of 50 ms in round 0
    results = BenchResults({"model_type": "bert"}, {}, {}, reference=ref)
    loaded = BenchResults.load(results.save(tmp_path / "bench.json"))
    assert loaded.reference == ref and loaded.to_dict()["schema_version"] == 4
    merged = _merge(loaded, loaded)                  # CI mode appends each round's blocks
    assert merged.reference.round_sizes == ref.round_sizes * 2


def test_reference_encoder_is_fixed_and_computes_in_range():
    """The reference graph is the same bytes every time (so runs time the same work), and its
    activations stay normalised (no overflow, no denormal-sized values to skew timing)."""
    from shapeprof.bench.reference import WORKLOAD
    from shapeprof.bench.reference_encoder import BATCH, HIDDEN, LENGTH, encoder_input, encoder_model
    from shapeprof.bench.runner import SessionSettings, make_session

    graph = encoder_model()
    assert graph == encoder_model() and "BERT layers" in WORKLOAD and "50 ms" in WORKLOAD
    out = make_session(graph, SessionSettings()).run(None, encoder_input())[0]
    assert out.shape == (BATCH, LENGTH, HIDDEN) and np.isfinite(out).all()
    assert abs(float(out.std()) - 1.0) < 0.1            # the last LayerNorm's unit scale


def test_cpu_time_is_gated_when_every_cell_has_it(tmp_path, capsys):
    """Wall times of a preempted process swing by 25% per round; its CPU time per call does not."""
    base, slower = paired(1.15, 0.25, rounds=8, seed=5)
    rng = np.random.default_rng(6)
    for run, f in ((base, 1.0), (slower, 1.15)):
        for c, ms in zip(run["cells"], CELLS.values()):
            c["cpu_samples_ms"] = [float(f * ms * (1 + 0.01 * e)) for e in rng.standard_normal(len(c["samples_ms"]))]
    cpu = compare_results(base, slower, paired=True)
    assert cpu.metric == "cpu" and {c.verdict for c in cpu.cells} == {"regression"} and cpu.gate_failed
    assert "the calling thread's CPU time" in markdown_report(cpu)
    wall = compare_results(base, slower, paired=True, metric="wall")
    assert wall.metric == "wall" and not wall.gate_failed
    del slower["cells"][0]["cpu_samples_ms"]
    assert compare_results(base, slower, paired=True).metric == "wall"
    files = [write(tmp_path / "b.json", base), write(tmp_path / "c.json", slower)]
    assert main(["compare", *files, "--metric", "cpu"]) == 2
    assert "--metric cpu needs CPU times in every matched cell" in capsys.readouterr().err


def disturbed(run: dict, round_: int, by: float) -> dict:
    """``run`` with one round slowed by another process: every sample of that round ``by`` x."""
    out = copy.deepcopy(run)
    for c in out["cells"]:
        a = round_ * PER_ROUND
        c["samples_ms"][a:a + PER_ROUND] = [x * by for x in c["samples_ms"][a:a + PER_ROUND]]
    return out


def test_one_disturbed_round_neither_hides_a_slowdown_nor_raises_a_false_alarm():
    t = Thresholds(between_run_sd=0.01)
    base = disturbed(bench_run(1.0, 61, rounds=6, noise=0.01), 2, 1.8)
    slower = disturbed(bench_run(1.0, 62, factor=1.25, rounds=6, noise=0.01), 4, 1.8)
    cmp = compare_results(base, slower, thresholds=t)
    assert {c.verdict for c in cmp.cells} == {"regression"}
    assert all(c.test.ratio == pytest.approx(1.25, rel=0.06) for c in cmp.cells)
    same = compare_results(base, disturbed(bench_run(1.0, 63, rounds=6, noise=0.01), 0, 1.8), thresholds=t)
    assert "regression" not in {c.verdict for c in same.cells}


class _FakeClocks:
    """perf_counter and thread_time on one fake timeline: a call takes 2 ms of wall and CPU time,
    and reading the CPU clock costs 1 ms of wall time (so its place in the loop shows)."""

    def __init__(self) -> None:
        self.now, self.cpu, self.cpu_reads = 0.0, 0.0, 0

    def perf_counter(self) -> float:
        return self.now

    def thread_time(self) -> float:
        self.cpu_reads += 1
        self.now += 0.001
        return self.cpu

    def call(self) -> None:
        self.now += 0.002
        self.cpu += 0.002


def test_the_cpu_clock_is_read_only_when_asked_and_outside_the_wall_interval(monkeypatch):
    from types import SimpleNamespace

    from shapeprof.bench import runner

    policy = runner.TimingPolicy(warmup=1, min_samples=4, min_time_s=0.0)
    for cpu in (False, True):
        fake = _FakeClocks()
        monkeypatch.setattr(runner, "time", SimpleNamespace(perf_counter=fake.perf_counter,
                                                            thread_time=fake.thread_time))
        wall, cpu_ms = runner.collect_timed(fake.call, policy, cpu=cpu)
        assert wall == pytest.approx([2.0] * 4)                      # the call alone
        assert cpu_ms == (pytest.approx([2.0] * 4) if cpu else [])
        assert fake.cpu_reads == (8 if cpu else 0)
    fake = _FakeClocks()
    monkeypatch.setattr(runner, "time", SimpleNamespace(perf_counter=fake.perf_counter,
                                                        thread_time=fake.thread_time))
    assert runner.collect_samples(fake.call, policy) == pytest.approx([2.0] * 4) and fake.cpu_reads == 0


def _jittery_reference(runs: list[dict], seed: int = 7) -> list[dict]:
    """The runs with a reference that jumps by a factor of up to ~4 from round to round on its
    own (as a 2-thread reference next to another session's spinning pool did on a shared VM)."""
    rng = np.random.default_rng(seed)
    out = copy.deepcopy(runs)
    for run in out:
        ref = run["reference"]
        jumps = np.repeat(np.exp(np.abs(rng.normal(0.0, 0.6, len(ref["round_sizes"])))), ref["round_sizes"])
        ref["samples_ms"] = [float(s * j) for s, j in zip(ref["samples_ms"], jumps)]
    return out


def test_calibrate_says_whether_the_reference_helps_and_compare_can_use_it(tmp_path, capsys):
    helps_runs = aa_runs(reference=True)
    helps = calibrate(helps_runs, 0.05)
    assert helps.spread["reference"] < helps.spread["raw"]
    files = [write(tmp_path / f"helps-{i}.json", r) for i, r in enumerate(helps_runs)]
    out = tmp_path / "t.yaml"
    assert main(["calibrate", "--results", *files, "-o", str(out)]) == 0
    assert "the reference helps: calibrate and compare with --normalise" in out.read_text()
    hurts_runs = _jittery_reference(aa_runs(between=0.005, reference=True))
    hurts = calibrate(hurts_runs, 0.05, normalise=True)
    assert hurts.spread["reference"] > 3 * hurts.spread["raw"]
    files = [write(tmp_path / f"run-{i}.json", r) for i, r in enumerate(hurts_runs)]
    assert main(["calibrate", "--results", *files, "--normalise", "-o", str(out)]) == 0
    assert "the reference does NOT help here: calibrate and compare with --no-normalise" in out.read_text()
    assert main(["calibrate", "--results", *files, "-o", str(out)]) == 0
    assert out.read_text().splitlines()[0].endswith("(6 results files), wall time.")
    assert load_thresholds(out).between_run_sd < 0.02
    capsys.readouterr()
    for flag, method in ((["--normalise"], "divided by the reference"), ([], None)):
        main(["compare", files[0], files[1], "--thresholds", str(out), *flag])
        report = capsys.readouterr().out
        assert (method in report) if method else ("divided by the reference" not in report)


def test_runs_with_the_current_reference_are_normalised_by_default(tmp_path, capsys):
    """The time-sliced reference is used unless asked otherwise; the first design's results
    (another workload string) are compared raw."""
    from shapeprof.bench.reference import WORKLOAD

    runs = aa_runs(reference=True)
    for run in runs:
        run["reference"]["workload"] = WORKLOAD
    assert calibrate(runs, 0.05).normalised == "wall time divided by the reference workload per round"
    assert calibrate(runs, 0.05, normalise=False).normalised == "wall time"
    cmp = compare_results(runs[0], runs[1])
    assert {c.method for c in cmp.cells} == {"rounds/reference"}
    assert {c.method for c in compare_results(runs[0], runs[1], normalise=False).cells} == {"rounds"}
    old = copy.deepcopy(runs[1])
    old["reference"]["workload"] = WORKLOAD.rsplit(", ", 1)[0]          # the 3-call design
    assert {c.method for c in compare_results(runs[0], old).cells} == {"rounds"}
    files = [write(tmp_path / f"r{i}.json", r) for i, r in enumerate(runs[:2])]
    capsys.readouterr()
    for flag, normalised in (([], True), (["--no-normalise"], False), (["--normalise"], True)):
        main(["compare", *files, *flag])
        assert ("divided by the reference" in capsys.readouterr().out) == normalised


def test_calibrate_runs_without_the_reference_are_calibrated_raw():
    cal = calibrate(aa_runs(3), 0.05)                 # results of schema 3: no reference
    assert cal.normalised == "wall time" and set(cal.spread) == {"raw"}


def test_paired_overall_detectable_keeps_the_correlation_between_cells_of_a_round():
    """The candidate's blocks of one round share a slowdown (every cell alike): the overall
    figure comes from the per-round mean over cells, not from the cells as if independent."""
    from shapeprof.regression.resolution import overall_detectable, paired_noise

    base, cand = paired(1.0, 0.002, rounds=8, seed=5)
    shared = np.exp(np.random.default_rng(6).normal(0.0, 0.03, 8))
    for c in cand["cells"]:
        c["samples_ms"] = [s * shared[i // PER_ROUND] for i, s in enumerate(c["samples_ms"])]
    cmp = compare_results(base, cand, paired=True)
    logs = [np.log(np.array(c2["samples_ms"][::PER_ROUND]) / np.array(c1["samples_ms"][::PER_ROUND]))
            for c1, c2 in zip(base["cells"], cand["cells"])]
    t = cmp.thresholds
    expected = paired_noise(np.mean(logs, axis=0)).detectable(t.p_value, t.power)
    assert cmp.overall_detectable == pytest.approx(expected, rel=1e-9)
    as_if_independent = overall_detectable([c.test.se for c in cmp.cells], 0.0, t)
    assert cmp.overall_detectable > as_if_independent * 1.02
    assert "overall_detectable" in json.dumps(cmp.to_dict())


def test_gate_calibration_takes_over_a_claim_whose_process_is_gone(tmp_path, gate_calibration):
    """benchmarks/gate_calibration.py: a CI run claimed by a process that died is redone."""
    import os
    import subprocess
    import sys

    gate = gate_calibration
    claim = tmp_path / "aa-0.claim"
    assert gate._claim(claim) and claim.read_text() == str(os.getpid())
    assert not gate._claim(claim)                              # held by a live process (this one)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    claim.write_text(str(gone.pid))
    assert gate._claim(claim)                                  # its claimer exited: taken over
    claim.write_text("")                                       # an older script's empty claim
    assert not gate._claim(claim)
    os.utime(claim, (0, 0))
    assert gate._claim(claim)
