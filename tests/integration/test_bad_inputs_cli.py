"""Bad inputs that need a real export, through the installed ``shapeprof`` command."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from support import installed_command

from shapeprof.testing.tiny import tiny_model


@pytest.fixture(scope="module")
def bare_bert_dir(tmp_path_factory) -> Path:
    """A saved tiny BERT without tokenizer files (config.json and model.safetensors only)."""
    path = tmp_path_factory.mktemp("bare") / "bert"
    tiny_model("bert").save_pretrained(path)
    return path


def test_sigterm_during_export_leaves_nothing(bare_bert_dir, tmp_path):
    """What kill, timeout, CI cancellation and docker stop send: exit 143, one line, no temp dir."""
    out = tmp_path / "out"
    proc = subprocess.Popen([installed_command(), "export", "--model", str(bare_bert_dir), str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list(tmp_path.glob(".out.*.tmp")):    # the export is under way
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr[-2000:]
    assert stderr.splitlines() == ["terminated; nothing was written"]
    assert list(tmp_path.iterdir()) == []


def test_export_without_tokenizer_ships_none(bare_bert_dir, tmp_path):
    """transformers would invent a 5-token tokenizer; the export must not copy one beside the model."""
    out = tmp_path / "out"
    proc = subprocess.run([installed_command(), "export", "--model", str(bare_bert_dir), str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.onnx",
                                                     "shapeprof_export.json", "verification.json"]
    assert json.loads((out / "config.json").read_text())["model_type"] == "bert"
