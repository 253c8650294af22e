"""Run specs: the shipped ones load; every validation error names the file and the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from shapeprof.errors import ConfigError
from shapeprof.runspec import load_spec

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("path", sorted(p for p in CONFIGS.glob("*.yaml") if p.name != "thresholds.yaml"),
                         ids=lambda p: p.name)
def test_shipped_specs_load(path):
    spec = load_spec(path)
    assert spec.name == path.stem and spec.variants


def test_ci_spec_bench_options():
    options = load_spec(CONFIGS / "ci.yaml").bench_options()
    assert options.intra_op_threads == 1 and options.batch_sizes == (1, 8)
    assert options.variants == ("onnx",) and options.pytorch is False


@pytest.mark.parametrize("text, needle", [
    ("name: x\nmodle: m\n", "unknown key 'modle'"),
    ("name: x\ntiming: {rounds: three}\n", "timing: key 'rounds' must be int"),
    ("name: x\nsweep: {batch_size: [1]}\n", "sweep: unknown key 'batch_size'"),
    ("name: x\nsweep: {batch_sizes: [1, 0]}\n", "'batch_sizes' must list positive integers"),
    ("name: x\nvariants: [onnx, fp8]\n", "variants: unknown 'fp8'"),
    ("name: x\npytorch: 1\n", "key 'pytorch' must be bool"),
    ("name: x\nthresholds: {p: 0.1}\n", "unknown threshold 'p'"),
    ("name: x\ntiming: {rounds: 0}\n", "timing: 'rounds' must be a number >= 1, not 0"),
    ("name: x\ntiming: {min_time_s: -1}\n", "timing: 'min_time_s' must be a number >= 0, not -1"),
    ("model: m\n", "missing key 'name'"),
    ("- a\n- b\n", "expected a mapping"),
    ("name: [unclosed\n", "cannot read run spec"),
])
def test_bad_specs(tmp_path, text, needle):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[")) as info:
        load_spec(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_spec(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_spec(tmp_path / "nope.yaml")
