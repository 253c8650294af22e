"""Variants scored on real rows, end to end on tiny exports: static int8 calibrated on real SST-2
rows (disjoint from the scored rows), embedding / classifier / generative scoring."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from shapeprof.accuracy import load_accuracy_data, model_kind, score_variants
from shapeprof.bench.calibration import TextCalibrationReader, calibration_rows
from shapeprof.bench.variants import make_variant
from shapeprof.errors import BenchError, DataError

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
GLUE = SHARED / "glue"


def _export(tmp_path_factory, minilm_dir, task: str, name: str) -> Path:
    from transformers import AutoTokenizer

    from shapeprof.export import export
    from shapeprof.testing.tiny import tiny_model

    tok = AutoTokenizer.from_pretrained(minilm_dir)
    model = tiny_model("bert", task, vocab_size=tok.vocab_size, max_position_embeddings=128)
    out = tmp_path_factory.mktemp(name) / "model"
    export(model, out, task=task, extra_files=lambda d: (model.save_pretrained(d), tok.save_pretrained(d)))
    return out


@pytest.fixture(scope="module")
def embedder(tmp_path_factory, minilm_dir) -> Path:
    return _export(tmp_path_factory, minilm_dir, "feature-extraction", "embedder")


@pytest.fixture(scope="module")
def sst2_scored():
    return load_accuracy_data("glue/sst2", "classifier", rows=400, seed=5, data_dir=GLUE)


def test_static_int8_calibrated_on_real_rows_disjoint_from_scored_rows(embedder, sst2_scored, tmp_path):
    import onnx
    import onnxruntime as ort

    calib = calibration_rows("glue/sst2", rows=48, seed=5, exclude=sst2_scored, data_dir=GLUE)
    assert not set(calib.indices) & set(sst2_scored.indices) and calib.excluded == 400
    inputs = ort.InferenceSession(str(embedder / "model.onnx")).get_inputs()
    reader = TextCalibrationReader(model_dir(embedder), inputs, calib, batch_size=8)
    lengths = [b.feeds["input_ids"].shape[1] for b in reader.batches]
    assert len(reader.batches) == 6 and len(set(lengths)) > 2          # real rows at their own lengths
    assert sorted(reader.get_next()) == sorted(i.name for i in inputs)
    path, _ = make_variant(embedder, "static-int8", tmp_path / "v", calibration=calib)
    graph = onnx.load(str(path)).graph
    ops = {n.op_type for n in graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops and path.name == "model-static-int8.onnx"
    # weight MatMuls get int8 weights (a DequantizeLinear on B); attention's activation MatMuls stay float
    made = {o: n.op_type for n in graph.node for o in n.output}
    kinds = [made.get(n.input[1]) for n in graph.node if n.op_type == "MatMul"]
    assert kinds.count("DequantizeLinear") == 2 * 6 and all(made.get(n.input[0]) != "DequantizeLinear"
                                                           for n in graph.node if n.op_type == "MatMul"
                                                           and made.get(n.input[1]) != "DequantizeLinear")
    opt, fused = make_variant(embedder, "optimized-static-int8", tmp_path / "v", calibration=calib)
    opt_ops = {n.op_type for n in onnx.load(str(opt)).graph.node}
    assert "Attention" not in opt_ops and "Attention" not in fused and "DequantizeLinear" in opt_ops
    assert sorted(p.name for p in (tmp_path / "v").iterdir() if "static" in p.name) == [
        "model-optimized-static-int8.onnx", "model-static-int8.onnx"]           # no temporary copies left
    with pytest.raises(BenchError, match="pass calibration rows"):
        make_variant(embedder, "optimized-static-int8", tmp_path / "w")


def model_dir(path: Path):
    from shapeprof.bench.model_dir import open_model_dir

    return open_model_dir(path)


def test_score_embedding_variants_end_to_end(embedder, tmp_path):
    data = load_accuracy_data(None, "embedding", rows=80, seed=1, data_dir=GLUE)
    copy = tmp_path / "copy.onnx"
    shutil.copy(embedder / "model.onnx", copy)
    int8, _ = make_variant(embedder, "int8", tmp_path / "v")
    lines: list[str] = []
    scores = score_variants(embedder, {"int8": int8, "onnx": embedder / "model.onnx", "same": copy}, data,
                            batch_size=16, progress=lines.append)
    assert [s.variant for s in scores] == ["onnx", "int8", "same"] and len(lines) == 3
    ref, q, same = scores
    assert ref.drop is None and ref.agreement is None and ref.metric.name == "spearman x100"
    assert ref.metric.n == 80 and ref.metric.low <= ref.metric.value <= ref.metric.high
    assert (same.drop.value, same.drop.low, same.drop.high) == (0.0, 0.0, 0.0)
    assert same.metric == ref.metric and np.isfinite(q.drop.value) and q.agreement is None


def test_score_classifier_accuracy_and_label_agreement(tmp_path_factory, minilm_dir, tmp_path):
    clf = _export(tmp_path_factory, minilm_dir, "text-classification", "clf")
    assert model_kind(clf) == "classifier"
    data = load_accuracy_data("glue/sst2", "classifier", rows=64, data_dir=GLUE, model_dir=clf)
    int8, _ = make_variant(clf, "int8", tmp_path / "v")
    ref, q = score_variants(clf, {"onnx": clf / "model.onnx", "int8": int8}, data)
    assert ref.metric.name == "accuracy" and 0 <= ref.metric.value <= 1
    assert q.agreement.name == "label agreement" and 0.5 <= q.agreement.value <= 1
    with pytest.raises(DataError, match="loaded for a embedding model"):
        score_variants(clf, {"onnx": clf / "model.onnx"},
                       load_accuracy_data(None, "embedding", rows=10, data_dir=GLUE))


def test_score_generative_perplexity_and_token_agreement(tmp_path_factory):
    from shapeprof.export import export

    out = tmp_path_factory.mktemp("gpt2") / "model"
    export(str(SHARED / "models" / "tiny-gpt2"), out, task="text-generation-with-past")
    assert model_kind(out) == "generative"
    data = load_accuracy_data(None, "generative", rows=24, data_dir=GLUE)
    ref, same = score_variants(out, {"onnx": out / "model.onnx", "copy": out / "model.onnx"}, data)
    vocab = 50257
    assert ref.metric.name == "perplexity" and not ref.metric.higher_is_better
    assert 0.5 * vocab < ref.metric.value < 2 * vocab          # random weights: about uniform over the vocabulary
    assert same.agreement.name == "token agreement" and same.agreement.value == 1.0
    assert same.drop.value == 0.0


def test_the_optimizer_runs_once_per_workdir_for_the_optimized_variants(embedder, tmp_path, monkeypatch):
    from shapeprof.bench import variants

    calls: list[Path] = []
    real = variants._run_optimizer
    monkeypatch.setattr(variants, "_run_optimizer", lambda m, out, *a: (calls.append(out), real(m, out, *a))[1])
    opt, fused = make_variant(embedder, "optimized", tmp_path / "v")
    q, fused_q = make_variant(embedder, "optimized-int8", tmp_path / "v")
    assert len(calls) == 1 and fused_q == fused and q.is_file() and opt.is_file()
    make_variant(embedder, "optimized-int8", tmp_path / "w")           # another directory: its own graph
    opt.unlink()                                                        # the file gone: built again
    make_variant(embedder, "optimized-int8", tmp_path / "v")
    assert calls == [opt, tmp_path / "w" / opt.name, opt] and opt.is_file()


def test_fastgelu_variants_approximate_gelu_and_share_one_optimized_graph(embedder, tmp_path, monkeypatch):
    import onnx
    import onnxruntime as ort

    from shapeprof.bench import variants

    calls: list[Path] = []
    real = variants._run_optimizer
    monkeypatch.setattr(variants, "_run_optimizer", lambda m, out, *a: (calls.append(out), real(m, out, *a))[1])
    exact, _ = make_variant(embedder, "optimized", tmp_path)
    fast, fused = make_variant(embedder, "optimized-fastgelu", tmp_path)
    q, fused_q = make_variant(embedder, "optimized-fastgelu-int8", tmp_path)
    assert calls == [exact, fast] and fused_q == fused and fused.get("FastGelu", 0) > 0
    ops = {n.op_type for n in onnx.load(str(fast)).graph.node}
    assert "FastGelu" in ops and not {"BiasGelu", "Gelu"} & ops
    assert {"DynamicQuantizeMatMul", "QAttention"} & {n.op_type for n in onnx.load(str(q)).graph.node}
    ids = np.array([[101, 2023, 2003, 1037, 3231, 102]], dtype=np.int64)
    given = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    outs = []
    for path in (exact, fast):
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        outs.append(session.run(None, {i.name: given[i.name] for i in session.get_inputs()})[0])
    diff = float(np.abs(outs[0] - outs[1]).max())
    assert 0.0 < diff < 1e-2              # an approximation: close, not identical


def test_a_loaded_tokenizer_is_used_not_loaded_again(embedder, tmp_path, monkeypatch):
    import onnxruntime as ort

    from shapeprof.bench import inputs

    tokenizer = inputs.load_model_tokenizer(model_dir(embedder))

    def refuse(model):
        raise AssertionError("the tokenizer was loaded again")

    monkeypatch.setattr(inputs, "load_model_tokenizer", refuse)
    data = load_accuracy_data(None, "embedding", rows=16, seed=1, data_dir=GLUE)
    [ref] = score_variants(embedder, {"onnx": embedder / "model.onnx"}, data, tokenizer=tokenizer)
    assert ref.metric.n == 16
    calib = calibration_rows("glue/sst2", rows=8, seed=5, data_dir=GLUE)
    feeds = ort.InferenceSession(str(embedder / "model.onnx")).get_inputs()
    assert len(TextCalibrationReader(model_dir(embedder), feeds, calib, tokenizer=tokenizer).batches) == 1
    path, _ = make_variant(embedder, "static-int8", tmp_path / "v", calibration=calib, tokenizer=tokenizer)
    assert path.is_file()
