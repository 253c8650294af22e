"""``shapeprof run SPEC`` and CI mode (``shapeprof ci``) on a tiny model with a tiny sweep."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shapeprof.regression.ci import run_ci
from shapeprof.runspec import load_spec
from support import SHARED_DATA, installed_command

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
    assert {"base.json", "candidate.json"} <= {p.name for p in (tmp_path / "ci").iterdir()}


def test_ci_without_a_base_says_so(spec_path, tmp_path):
    result = run_ci(load_spec(spec_path), "no-such-revision", tmp_path / "ci", rounds=1)
    assert any("no base revision 'no-such-revision'" in n for n in result.notes)
    assert "A/A" in result.report and not result.comparison.gate_failed
