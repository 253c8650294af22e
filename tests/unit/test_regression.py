"""``shapeprof compare``: verdicts on constructed samples, matching, exact facts, report, exit codes."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shapeprof.errors import CompareError
from shapeprof.regression import Thresholds, compare_results, load_thresholds, markdown_report
from shapeprof.regression.stats import ratio_test
from shapeprof.regression.thresholds import thresholds_from_mapping

T = Thresholds()


def samples(median: float, n: int = 60, spread: float = 0.02, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(median * (1.0 + spread * rng.standard_normal(n)))


def run(cells: dict[tuple[int, int], list[float]], threads: int = 2, ops: dict | None = None,
        passed: bool = True, counts: dict | None = None) -> dict:
    return {
        "schema_version": 1, "kind": "shapeprof.bench", "created": "2026-11-28T00:00:00+00:00",
        "model": {"model_type": "bert", "task": "feature-extraction",
                  "inputs": {"input_ids": {"0": "batch_size", "1": "sequence_length"}},
                  "outputs": {"last_hidden_state": {"0": "batch_size", "1": "sequence_length"}},
                  "op_counts": ops or {"MatMul": 42, "Softmax": 6}, "verification_passed": passed},
        "settings": {"providers": ["CPUExecutionProvider"], "intra_op_threads": threads,
                     "profile": {"length_counts": counts} if counts else None},
        "environment": {"versions": {"onnxruntime": "1.32.0"}},
        "cells": [{"variant": "onnx", "runtime": "onnxruntime", "batch_size": b, "sequence_length": n,
                   "input_source": "data", "samples_ms": s} for (b, n), s in cells.items()],
    }


def test_known_20_percent_slowdown_is_a_regression():
    test = ratio_test(samples(10.0), samples(12.0, seed=1), T)
    assert test.verdict == "regression" and 1.15 < test.ratio < 1.25
    assert test.low < test.ratio < test.high and test.p_value < 1e-6


def test_a_a_pair_is_not_flagged():
    test = ratio_test(samples(10.0, seed=2), samples(10.0, seed=3), T)
    assert test.verdict == "same" and 0.97 < test.ratio < 1.03


def test_large_but_noisy_change_is_noise():
    base = samples(10.0, n=6, spread=0.5, seed=4)
    cand = samples(12.0, n=6, spread=0.5, seed=5)
    assert ratio_test(base, cand, T).verdict == "noise"


def test_warning_improvement_and_too_few_samples():
    assert ratio_test(samples(10.0), samples(10.7, seed=6), T).verdict == "warning"
    assert ratio_test(samples(10.0), samples(8.0, seed=7), T).verdict == "improvement"
    assert ratio_test([1.0, 2.0], samples(10.0), T).verdict == "not comparable"


def test_matching_ignores_chosen_keys_and_weights_by_data():
    base = run({(1, 16): samples(5.0), (8, 64): samples(20.0)}, threads=2,
               counts={"10": 90, "60": 10})
    cand = run({(1, 16): samples(6.0, seed=1), (8, 64): samples(24.0, seed=1)}, threads=1)
    with pytest.raises(CompareError, match="no cell of the base matches"):
        compare_results(base, cand)
    cmp = compare_results(base, cand, ignore=["threads"])
    assert cmp.count("regression") == 2 and cmp.gate_failed
    assert cmp.weighted and [c.weight for c in cmp.cells] == [0.9, 0.1]
    (geomean,) = cmp.geomeans.values()
    assert geomean == pytest.approx(1.2, rel=0.03)


def test_exact_facts_gate_even_without_timing_changes():
    base = run({(1, 16): samples(5.0)})
    cand = copy.deepcopy(base)
    cand["model"]["op_counts"] = {"MatMul": 48, "Softmax": 6}
    cmp = compare_results(base, cand, timings_gate=False)
    assert cmp.fact_changes == ("op_counts: MatMul 42 -> 48",) and cmp.gate_failed
    failed = compare_results(base, run({(1, 16): samples(5.0)}, passed=False))
    assert failed.failed_verification == ("candidate",) and failed.gate_failed


def test_informational_timings_do_not_gate():
    cmp = compare_results(run({(1, 16): samples(5.0)}), run({(1, 16): samples(6.0, seed=1)}),
                          timings_gate=False)
    assert not cmp.gate_failed and cmp.count("regression") == 1
    assert cmp.verdict == "PASS (timing regressions shown, not gated)"


GOLDEN = """## shapeprof compare: REGRESSION

`cand.json` vs `base.json`: 2 matched cells (1 regression, 1 same).

Exact facts (input/output names and axes, op counts, verification): unchanged.

| cell | base ms | candidate ms | ratio | interval | p | detectable | verdict |
|---|---:|---:|---:|---|---:|---:|---|
| onnx 8x64 | 20.1 | 24.1 | 1.199 | 1.195-1.202 | 3e-11 | - | regression |

<details><summary>1 cells without a significant change</summary>

| cell | base ms | candidate ms | ratio | interval | p | detectable | verdict |
|---|---:|---:|---:|---|---:|---:|---|
| onnx 1x16 | 5 | 5 | 1.000 | 1.000-1.000 | 1 | - | same |

</details>

Geometric mean of the ratios (unweighted):

- bert feature-extraction / onnx: 1.095

### Details

- time per call: wall clock (time.perf_counter).
- cells without 3 rounds per run (pooled test): ratio = median(candidate) / median(base); 95% bootstrap interval (2000 resamples); p: Mann-Whitney U, two-sided. It treats one run's samples as independent, which over-claims between separate runs.
- pooled test: regression: ratio >= 1.1, p < 0.002 and interval above 1.05; warning: ratio >= 1.05, p < 0.002 and interval above 1; improvement: ratio <= 1/1.05, p < 0.002 and interval below 1; noise: as large but failing those tests.
- cells matched on: model, variant, runtime, providers, threads, batch, length, versions.
"""


def test_golden_markdown_report():
    base = run({(1, 16): [5.0] * 30, (8, 64): [20.0 + 0.01 * i for i in range(30)]})
    cand = run({(1, 16): [5.0] * 30, (8, 64): [24.0 + 0.01 * i for i in range(30)]})
    report = markdown_report(compare_results(base, cand), "base.json", "cand.json")
    assert report == GOLDEN


def test_thresholds_are_validated_with_the_bad_key_named(tmp_path):
    with pytest.raises(CompareError, match="unknown threshold 'regresion_ratio'"):
        thresholds_from_mapping({"regresion_ratio": 1.2}, "t.yaml")
    with pytest.raises(CompareError, match="'p_value' must be a number"):
        thresholds_from_mapping({"p_value": "low"}, "t.yaml")
    with pytest.raises(CompareError, match="warning_ratio <= regression_ratio"):
        thresholds_from_mapping({"warning_ratio": 1.2, "regression_ratio": 1.1}, "t.yaml")
    assert load_thresholds() == Thresholds()          # the packaged shapeprof/regression/thresholds.yaml


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shapeprof", "compare", *args], capture_output=True,
                          text=True, timeout=120)


def write(path: Path, data: dict) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def test_exit_codes_and_bad_files(tmp_path):
    base = write(tmp_path / "base.json", run({(1, 16): samples(5.0)}))
    same = write(tmp_path / "same.json", run({(1, 16): samples(5.0, seed=9)}))
    slow = write(tmp_path / "slow.json", run({(1, 16): samples(6.0, seed=9)}))
    assert cli(base, same).returncode == 0
    proc = cli(base, slow, "-o", str(tmp_path / "report.md"))
    assert proc.returncode == 1 and "REGRESSION" in proc.stdout
    assert (tmp_path / "report.md").read_text() == proc.stdout
    (tmp_path / "bad.json").write_text("{not json")
    for args, needle in [((base, str(tmp_path / "bad.json")), "candidate cannot read results"),
                         ((base, str(tmp_path / "missing.json")), "candidate cannot read results"),
                         ((base, write(tmp_path / "old.json", {"schema_version": 0})), "schema_version 0"),
                         ((base, write(tmp_path / "other.json", run({(2, 99): samples(5.0)}))),
                          "no cell of the base matches"),
                         ((base, same, "--ignore", "colour"), "cannot ignore 'colour'")]:
        proc = cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], proc.stderr


def rounds_of(medians: list[float], per_round: int = 5, spread: float = 0.01, seed: int = 0) -> tuple[list, list]:
    """Samples of blocks with the given per-round medians, and the block sizes."""
    rng = np.random.default_rng(seed)
    out: list[float] = []
    for m in medians:
        out += list(m * (1.0 + spread * rng.standard_normal(per_round)))
    return out, [per_round] * len(medians)


DRIFT = [10.0, 14.0, 11.0, 16.0, 12.0, 15.0, 10.5, 13.0]      # the machine's speed, round by round


def paired_run(factor: float, seed: int) -> dict:
    noise = np.random.default_rng(seed + 100).normal(0.0, 0.01, len(DRIFT))
    samples_ms, sizes = rounds_of([factor * d * np.exp(e) for d, e in zip(DRIFT, noise)], seed=seed)
    data = run({(1, 16): samples_ms})
    data["cells"][0]["round_sizes"] = sizes
    return data


def test_paired_compare_sees_through_drift_between_rounds():
    base, same, slower = paired_run(1.0, 0), paired_run(1.0, 1), paired_run(1.2, 2)
    assert compare_results(base, same, paired=True).cells[0].verdict == "same"
    cell = compare_results(base, slower, paired=True).cells[0]
    assert cell.verdict == "regression" and cell.test.ratio == pytest.approx(1.2, rel=0.03)
    assert cell.test.low > 1.1
    # pooled, the same 20% slowdown drowns in the rounds' drift
    assert compare_results(base, slower).cells[0].verdict != "regression"
    report = markdown_report(compare_results(base, slower, paired=True))
    assert "t test on the log ratios" in report


def test_paired_compare_needs_three_rounds_on_both_sides():
    base, cand = paired_run(1.0, 0), paired_run(1.2, 2)
    cand["cells"][0]["round_sizes"] = []                       # a run that kept no rounds
    assert compare_results(base, cand, paired=True).cells[0].verdict == "not comparable"
    short = run({(1, 16): base["cells"][0]["samples_ms"][:10]})
    short["cells"][0]["round_sizes"] = [5, 5]
    assert compare_results(short, short, paired=True).cells[0].verdict == "not comparable"
