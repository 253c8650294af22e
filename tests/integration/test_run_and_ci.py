"""``shapeprof run SPEC`` and CI mode (``shapeprof ci``) on a tiny model with a tiny sweep."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from shapeprof.errors import ConfigError
from shapeprof.regression import ci
from shapeprof.regression.ci import run_ci
from shapeprof.runspec import load_spec
from support import SHARED_DATA, installed_command, read_report

pytestmark = pytest.mark.slow  # CI mode exports twice and benchmarks

SPEC = """name: tiny
model: {model}
task: feature-extraction
dataset: glue
data: {{data_dir: {data}, rows: 120, batch_sizes: [1, 4]}}
sweep: {{batch_sizes: [1, 4], sequence_lengths: [8, 16]}}
variants: [onnx]
pytorch: false
timing: {{warmup: 1, min_samples: 5, min_time_s: 0.0, rounds: 2, threads: 1}}
"""


@pytest.fixture(scope="module")
def spec_path(tiny_bert_dir, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "tiny.yaml"
    path.write_text(SPEC.format(model=tiny_bert_dir, data=SHARED_DATA / "glue"))
    return path


def test_run_spec_cli(spec_path, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([installed_command(), "run", str(spec_path), "-o", str(out), "-q"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {"model.onnx", "profile.json", "bench.json", "bench.md"} <= {p.name for p in out.iterdir()}
    assert "| onnx |" in proc.stdout
    bench = json.loads((out / "bench.json").read_text())
    assert {(c["batch_size"], c["sequence_length"]) for c in bench["cells"]} == {
        (1, 8), (1, 16), (4, 8), (4, 16)}
    assert json.loads((out / "profile.json").read_text())["dataset"]["rows_sampled"] == 120
    assert "| onnx |" in (out / "bench.md").read_text()
    plots = read_report(out / "report.html")["plots"]   # no PyTorch in this spec: no speedup plot
    assert list(plots) == ["latency", "heatmap", "policies"]
    heatmap = plots["heatmap"]["series"]["panels"][0]
    assert heatmap["batch_sizes"] == [1, 4] and heatmap["x"] == [8, 16]
    assert {(c["batch_size"], c["sequence_length"]): c["stats_ms"]["p50"] for c in bench["cells"]} == {
        (b, n): heatmap["p50_ms"][i][j] for i, b in enumerate([1, 4]) for j, n in enumerate([8, 16])}


def test_ci_against_a_base_revision(spec_path, tmp_path):
    """HEAD's code exports the base in a temporary worktree; same graph, so exact facts agree."""
    result = run_ci(load_spec(spec_path), "HEAD", tmp_path / "ci", rounds=3)
    assert not result.notes, result.notes
    assert not result.comparison.fact_changes and not result.comparison.gate_failed
    assert len(result.comparison.cells) == 4
    assert result.comparison.paired and "t test on the log ratios" in result.report
    assert all(c.verdict != "not comparable" and c.test.low <= c.test.ratio <= c.test.high
               for c in result.comparison.cells)
    assert (tmp_path / "ci" / "report.md").read_text() == result.report
    assert "[report.html](report.html)" in result.report
    plots = read_report(tmp_path / "ci" / "report.html")["plots"]
    assert list(plots) == ["comparison", "latency", "heatmap", "policies"]
    rows = plots["comparison"]["series"]["cells"]
    assert {r["cell"]: (r["ratio"], r["verdict"]) for r in rows} == {
        c.label: (c.test.ratio, c.verdict) for c in result.comparison.cells}
    assert [r["ratio"] for r in rows] == sorted((r["ratio"] for r in rows), reverse=True)
    for which in ("base", "candidate"):
        saved = json.loads((tmp_path / "ci" / f"{which}.json").read_text())
        assert len(saved["cells"]) == 4 and all(c["rounds"] == 3 for c in saved["cells"])


def test_ci_with_a_missing_explicit_base_stops_before_work(spec_path, tmp_path):
    with pytest.raises(ConfigError, match="--base-rev 'no-such-revision' is not a commit"):
        run_ci(load_spec(spec_path), "no-such-revision", tmp_path / "ci", rounds=1)
    assert not (tmp_path / "ci").exists()


def test_ci_without_the_default_base_says_so_at_the_top(spec_path, tmp_path, monkeypatch):
    monkeypatch.setattr(ci, "DEFAULT_BASE_REV", "refs/heads/shapeprof-no-such-branch")
    result = run_ci(load_spec(spec_path), None, tmp_path / "ci", rounds=1)
    head = result.report.split("## shapeprof compare")[0]
    assert result.report.startswith("> **note**: A/A run: the candidate was compared with itself")
    assert "no base revision 'refs/heads/shapeprof-no-such-branch'" in head
    assert not result.comparison.gate_failed
