"""The installed ``shapeprof`` command: list, export errors, atomic output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from support import installed_command

from shapeprof.export import export
from shapeprof.errors import ExportError, VerificationError
from shapeprof.testing.tiny import tiny_model


def run(*args, timeout=600):
    exe = installed_command()
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)


def one_line_error(proc, code=2):
    assert proc.returncode == code, (proc.returncode, proc.stderr[-1500:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def tiny_bert_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "bert"
    tiny_model("bert", "text-classification").save_pretrained(path)
    return path


def test_list_is_generated_from_the_registry():
    proc = run("list", "--modality", "text", "--json")
    assert proc.returncode == 0
    rows = {row["model_type"]: row for row in json.loads(proc.stdout)}
    assert {"bert", "roberta", "distilbert", "albert", "electra", "xlm-roberta", "mpnet",
            "deberta-v2"} <= set(rows)
    assert rows["bert"]["config_class"] == "BertOnnxConfig" and rows["bert"]["config"] == "registered"


def test_help_does_not_import_torch():
    code = "import sys; from shapeprof.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_export_cli_infers_task_and_writes_reports(tiny_bert_dir, tmp_path):
    proc = run("export", "--model", str(tiny_bert_dir), str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = json.loads((tmp_path / "out" / "shapeprof_export.json").read_text())
    assert info["task"] == "text-classification"  # from config.architectures
    assert info["schema_version"] == 3 and info["files"] == ["model.onnx"]
    assert info["config"] == "registered" and "derivation" not in info
    assert info["verification_passed"] is True
    report = json.loads((tmp_path / "out" / "verification.json").read_text())
    assert report["schema_version"] == 1 and len(report["checks"]) == 3


@pytest.mark.parametrize("args, match", [
    (["--model", "/no/such/model"], "does not exist"),
    (["--task", "text-generation"], "supported tasks: feature-extraction"),
    (["--task", "fly"], "unknown task 'fly'"),
    (["--opset", "7"], "opset 7 is not supported"),
])
def test_export_errors_are_one_line(tiny_bert_dir, tmp_path, args, match):
    full = ["export", *args, str(tmp_path / "out")]
    if "--model" not in args:
        full[1:1] = ["--model", str(tiny_bert_dir)]
    assert match in one_line_error(run(*full))
    assert not (tmp_path / "out").exists()


def test_unknown_model_type_with_config_registered(tmp_path):
    from transformers import AutoConfig

    AutoConfig.for_model("nystromformer", hidden_size=32, num_hidden_layers=2,
                         num_attention_heads=4).save_pretrained(tmp_path / "m")
    line = one_line_error(run("export", "--model", str(tmp_path / "m"), "--config", "registered",
                              str(tmp_path / "out")))
    assert "model type 'nystromformer' is not registered (" in line and "'shapeprof list'" in line
    assert "--config auto" in line


def test_unreadable_model_dir(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{not json")
    line = one_line_error(run("export", "--model", str(tmp_path / "m"), str(tmp_path / "out")))
    assert "cannot load the config" in line


def test_non_empty_output_dir_is_refused(tiny_bert_dir, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    line = one_line_error(run("export", "--model", str(tiny_bert_dir), str(tmp_path / "out")))
    assert "--overwrite" in line
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_failed_verification_leaves_nothing(tmp_path):
    with pytest.raises(VerificationError, match="--allow-mismatch"):
        export(tiny_model("bert"), tmp_path / "out", atol=0.0, rtol=0.0)
    assert list(tmp_path.iterdir()) == []
    result = export(tiny_model("bert"), tmp_path / "kept", atol=0.0, rtol=0.0, strict=False)
    assert not result.verification.passed
    import onnx

    graph = onnx.load(str(tmp_path / "kept" / "model.onnx")).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask", "token_type_ids"]
    info = json.loads((tmp_path / "kept" / "shapeprof_export.json").read_text())
    assert info["verification_passed"] is False and "--allow-mismatch" in " ".join(info["notes"])


def test_trace_shapes_must_avoid_size_one(tmp_path):
    with pytest.raises(ExportError, match="specialises axes of size 0 or 1"):
        export(tiny_model("bert"), tmp_path / "out", trace_shapes={"batch_size": 1})
    with pytest.raises(ExportError, match="exceeds the model's limit of 512"):
        export(tiny_model("bert"), tmp_path / "out", bounds={"sequence_length": (1, 4096)})
    assert list(tmp_path.iterdir()) == []
