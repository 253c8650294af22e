"""Results: JSON round trip with raw samples, tidy DataFrame, CSV, markdown."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from shapeprof.bench.expected import LatencyModel, Policy, estimate
from shapeprof.bench.replay import ReplayResult
from shapeprof.bench.results import SCHEMA_VERSION, BenchResults, CellResult
from shapeprof.bench.variants import VariantInfo
from shapeprof.errors import BenchError


def make_results() -> BenchResults:
    cells = []
    for variant, runtime, scale in (("onnx", "onnxruntime", 1.0), ("int8", "onnxruntime", 0.5),
                                    ("pytorch", "pytorch", 2.0)):
        for b, n in ((1, 16), (8, 16)):
            base = scale * b * n / 16
            cells.append(CellResult(variant, runtime, b, n, "data",
                                    tuple(base * f for f in (1.0, 1.1, 0.9, 1.0, 1.2)), 1.5))
    model = LatencyModel((c.batch_size, c.sequence_length, c.stats.mean) for c in cells[:2])
    expected = (estimate(model, {10: 5, 16: 3}, Policy("sorted"), 8),)
    replay = (ReplayResult("onnx", "onnxruntime", "sorted", "length-sorted", 8, 8, 1, 0.01, 0.011,
                           -0.0909, (0.011, 0.012)),)
    variants = (VariantInfo("onnx", "/x/model.onnx", "pytorch", 1e-6, 1e-7, "data rows at 1x16", True),
                VariantInfo("int8", "/x/int8.onnx", "pytorch", 0.03, 0.006, "data rows", False,
                            {"Attention": 2}, 1.2))
    return BenchResults({"model_type": "bert", "task": "feature-extraction"},
                        {"providers": ["CPUExecutionProvider"], "intra_op_threads": 2,
                         "graph_optimization": "all"},
                        {"cpu": "test cpu", "versions": {"onnxruntime": "1", "torch": "2"}},
                        variants, tuple(cells), expected, replay, ("a note",), "2026-01-01T00:00:00+00:00")


def test_json_round_trip_keeps_raw_samples(tmp_path):
    results = make_results()
    path = results.save(tmp_path / "r.json")
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["cells"][0]["samples_ms"] == list(results.cells[0].samples_ms)
    assert set(data["cells"][0]["stats_ms"]) >= {"p50", "p90", "p99", "mean", "std"}
    loaded = BenchResults.load(path)
    assert loaded == results
    assert loaded.to_dict() == results.to_dict()
    assert not list(tmp_path.glob(".*tmp"))                # atomic write left no temp file


def test_other_schema_versions_are_refused(tmp_path):
    data = make_results().to_dict()
    data["schema_version"] = 99
    (tmp_path / "r.json").write_text(json.dumps(data))
    with pytest.raises(BenchError, match="schema_version 99"):
        BenchResults.load(tmp_path / "r.json")


def test_dataframe_is_tidy_with_speedups_and_csv(tmp_path):
    results = make_results()
    df = results.to_dataframe()
    assert len(df) == 6
    assert {"variant", "runtime", "batch_size", "sequence_length", "p50_ms", "p90_ms", "p99_ms",
            "mean_ms", "std_ms", "sequences_per_s", "tokens_per_s", "process_peak_rss_mib",
            "session_growth_mib",
            "speedup_vs_pytorch", "speedup_vs_onnx"} <= set(df.columns)
    onnx = df[(df.variant == "onnx") & (df.batch_size == 8)].iloc[0]
    assert onnx.speedup_vs_pytorch == pytest.approx(2.0)
    assert df[df.variant == "int8"].speedup_vs_onnx.tolist() == pytest.approx([2.0, 2.0])
    assert onnx.tokens_per_s == pytest.approx(onnx.sequences_per_s * 16)
    back = pd.read_csv(results.to_csv(tmp_path / "r.csv"))
    assert back.shape == df.shape


def test_markdown_summary_has_every_section():
    text = make_results().summary()
    for part in ("### Cells", "### Variants", "### Expected on the data", "### Replay",
                 "length-sorted", "note: a note", "-9.1%"):
        assert part in text
