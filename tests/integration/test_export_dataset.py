"""``shapeprof export --dataset``: profile real GLUE data, export at its shapes, verify on real rows."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from support import SHARED_DATA, installed_command, read_report
from shapeprof.data.glue import GLUE_TASKS
from shapeprof.errors import DataError, ExportError
from shapeprof.export.profiled import export_with_profile

GLUE = SHARED_DATA / "glue"
PRESENT = [name for name, task in GLUE_TASKS.items() if (GLUE / task.folder / "dev.tsv").is_file()]
FAST_BENCH = dict(warmup=1, min_samples=2, min_time_s=0.0, rounds=2, intra_op_threads=1, pytorch=True,
                  variants=("onnx",), batch_sizes=(1, 4), sequence_lengths=(8, 24))


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([installed_command(), *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


@pytest.mark.slow  # the real all-MiniLM-L6-v2
def test_default_job_on_glue(tmp_path, shared_data):
    """The README's main command: embedded MiniLM, GLUE SST-2 from SHAPEPROF_DATA_DIR."""
    out = tmp_path / "out"
    proc = run_cli("export", "--dataset", "glue", "--quiet", str(out),
                   env={"SHAPEPROF_DATA_DIR": str(GLUE)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {"model.onnx", "profile.json", "verification.json", "shapeprof_export.json",
            "config.json", "tokenizer.json", "model.safetensors"} <= {p.name for p in out.iterdir()}
    assert len(json.loads((out / "tokenizer.json").read_text())["model"]["vocab"]) == 30522
    report = json.loads((out / "verification.json").read_text())
    data_checks = [c for c in report["checks"] if c["source"] == "data"]
    assert [c["label"] for c in data_checks] == ["data min", "data opt", "data max"]
    assert report["passed"]
    info = json.loads((out / "shapeprof_export.json").read_text())
    assert info["task"] == "text-classification"
    assert info["trace_shapes"] == {"batch_size": 8, "sequence_length": 25}
    assert info["profile"]["shape_ranges"]["sequence_length"] == {"min": 4, "opt": 25, "max": 55}
    assert Path(info["source"]).is_dir()
    assert "freshly initialised" in proc.stdout
    assert "padding waste" in proc.stdout


@pytest.mark.parametrize("glue_task", PRESENT)
def test_every_present_glue_task(glue_task, tiny_bert_dir, tmp_path):
    done = export_with_profile(tmp_path / "out", tiny_bert_dir, f"glue/{glue_task}",
                               profile_options={"data_dir": GLUE}, progress=False)
    labels = GLUE_TASKS[glue_task].num_labels
    session = ort.InferenceSession(str(done.export.onnx_path), providers=["CPUExecutionProvider"])
    feeds = dict(done.profile.real_batches()[1][1])
    (logits,) = session.run(None, feeds)
    assert logits.shape == (done.profile.default_batch_shapes()[1][1], labels)
    if len(GLUE_TASKS[glue_task].text_columns) == 2:  # sentence pairs: second segment present
        assert np.any(feeds["token_type_ids"] == 1)
    assert done.export.verification.passed


def test_data_range_narrows_the_export(tiny_bert_dir, tmp_path):
    done = export_with_profile(tmp_path / "out", tiny_bert_dir, "glue",
                               profile_options={"data_dir": GLUE}, dynamic_range="data",
                               progress=False)
    lo, hi = done.export.plan.bounds["sequence_length"]
    assert (lo, hi) == (4, 55)
    for check in done.export.verification.checks:
        assert lo <= check.shape["sequence_length"] <= hi


def test_bench_writes_results_into_the_export(tiny_bert_dir, tmp_path):
    out = tmp_path / "out"
    done = export_with_profile(out, tiny_bert_dir, "glue", profile_options={"data_dir": GLUE, "rows": 200},
                               bench=True, bench_options=FAST_BENCH, progress=False)
    assert done.bench is not None
    assert {"bench.json", "bench.csv", "bench.md"} <= {p.name for p in out.iterdir()}
    cells = json.loads((out / "bench.json").read_text())["cells"]
    csv_rows = (out / "bench.csv").read_text().splitlines()
    assert cells and len(csv_rows) == 1 + len(cells)   # a header and a row per cell
    assert "| onnx |" in (out / "bench.md").read_text()
    assert "[report.html](report.html)" in (out / "bench.md").read_text()
    plots = read_report(out / "report.html")["plots"]
    assert list(plots) == ["latency", "heatmap", "speedup", "policies"]   # FAST_BENCH times PyTorch too
    latency = plots["latency"]["series"]
    medians = {(c.variant, c.batch_size, c.sequence_length): c.stats.p50 for c in done.bench.cells}
    assert {(s["variant"], s["batch_size"], x): p for s in latency["series"]
            for x, p in zip(s["x"], s["p50_ms"])} == pytest.approx(medians)
    assert sum(latency["histogram"]["rows"]) == 200     # the profiled rows under the curve


def test_failed_profile_leaves_nothing(tiny_bert_dir, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(DataError, match="rte"):
        export_with_profile(out, tiny_bert_dir, "glue/rte", profile_options={"data_dir": GLUE},
                            progress=False)
    assert not out.exists()


def test_multiple_choice_is_refused(tiny_bert_dir, tmp_path):
    with pytest.raises(ExportError, match="num_choices"):
        export_with_profile(tmp_path / "out", tiny_bert_dir, "glue", "multiple-choice",
                            profile_options={"data_dir": GLUE}, progress=False)


@pytest.mark.parametrize("args, needle", [
    (["--bench"], "--bench needs --dataset"),
    (["--dataset", "glue/nope"], "unknown GLUE task 'nope'"),
    (["--dataset", "glue", "--dynamic-range", "data", "--rows", "0"], "argument --rows: expected an integer >= 1"),
])
def test_cli_errors_are_one_line(args, needle, tmp_path):
    out = tmp_path / "out"
    proc = run_cli("export", *args, str(out), env={"SHAPEPROF_DATA_DIR": str(GLUE)})
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert not out.exists()


def test_main_job_prints_a_short_closing_summary_and_nothing_on_stderr_when_quiet(tiny_bert_dir, tmp_path):
    """The main job's shape on a tiny model: quick bench, at most 15 lines, every item, quiet stderr."""
    out = tmp_path / "out"
    proc = run_cli("export", "--model", str(tiny_bert_dir), "--dataset", "glue", "--rows", "300",
                   "--bench", "--quiet", str(out), env={"SHAPEPROF_DATA_DIR": str(GLUE)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr == ""
    lines = proc.stdout.strip().splitlines()
    assert len(lines) <= 15, proc.stdout
    for item in ("exported: bert (text-classification", "verified: onnxruntime matches PyTorch",
                 "data: glue/sst2 [validation], 300 rows", "padding waste", "batching: ",
                 "vs pad to 128 (", "vs pad to longest in batch (", "runtime: onnxruntime (",
                 f"files: {out}/: model.onnx", "took: ", "quick bench"):
        assert item in proc.stdout, (item, proc.stdout)
    assert f"report: {out / 'report.html'}" in proc.stdout and (out / "report.html").is_file()
    settings = json.loads((out / "bench.json").read_text())["settings"]
    assert settings["grid"] == "quick" and settings["rounds"] == 3
    torch_cells = {tuple(c) for c in settings["pytorch_cells"]}
    assert len(torch_cells) == 2 and len({n for _, n in torch_cells}) == 1   # PyTorch at the median only


def test_the_summary_names_the_report_when_there_is_one(tmp_path):
    from types import SimpleNamespace

    from shapeprof.commands.export import files_lines

    result = SimpleNamespace(output_dir=tmp_path, parts=[SimpleNamespace(file="model.onnx")])
    assert not any(line.startswith("report:") for line in files_lines(result, True))
    (tmp_path / "report.html").write_text("<html></html>")
    assert files_lines(result, True)[-1] == f"report: {tmp_path / 'report.html'}"


@pytest.mark.parametrize("argv, grid, out", [
    (["--bench", "OUT"], "quick", "OUT"), (["--bench", "quick", "OUT"], "quick", "OUT"),
    (["--bench", "full", "OUT"], "full", "OUT"), (["OUT", "--bench"], "quick", "OUT"), (["OUT"], None, "OUT")])
def test_bench_takes_an_optional_grid(argv, grid, out):
    from shapeprof.cli import build_parser
    from shapeprof.commands.export import resolve_bench

    args = build_parser().parse_args(["export", "--dataset", "glue", *argv])
    resolve_bench(args)
    assert (args.bench, args.output_dir) == (grid, out)


def test_bench_refuses_an_unknown_grid():
    from shapeprof.cli import build_parser
    from shapeprof.commands.export import resolve_bench

    args = build_parser().parse_args(["export", "--dataset", "glue", "--bench", "fast", "OUT"])
    with pytest.raises(ExportError, match="--bench takes quick or full, not 'fast'"):
        resolve_bench(args)
