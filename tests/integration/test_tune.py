"""``shapeprof tune`` on a tiny exported BERT with MiniLM's tokenizer and real SST-2 / STS-B rows:
the baseline is the first row, deploy.json round-trips, serve.py runs on its own and returns what
the chosen graph computes, an SLO nobody meets exits 1, bad accuracy data exits 2 before timing.
No timing is asserted."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

GLUE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "glue"
STSB = GLUE / "STS-B" / "dev.tsv"
FAST = ["--tune-variants", "onnx,int8", "--max-batch", "64", "--window", "32", "--proof-rounds", "4",
        "--accuracy-data", str(STSB), "--accuracy-rows", "200"]
TEXTS = ["a gripping , funny film .", "it is not a good movie , and the plot is thin", "bad .",
         "one of the year 's most intriguing explorations of loneliness and love"]


def tune_cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shapeprof", "tune", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_bert_dir) -> Path:
    from shapeprof.export import export

    out = tmp_path_factory.mktemp("tune") / "tiny-bert"
    export(tiny_bert_dir, out, task="feature-extraction")
    return out


@pytest.fixture(scope="module")
def profile_path(model_dir, tmp_path_factory) -> Path:
    from shapeprof.profile import profile_dataset

    profile = profile_dataset(model_dir, "glue", data_dir=GLUE, rows=160, batch_sizes=(1, 4, 32),
                              progress=False)
    return profile.save(tmp_path_factory.mktemp("profile") / "profile.json")


@pytest.fixture(scope="module")
def tuned(model_dir, profile_path, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("tuned") / "tune"
    return tune_cli(str(model_dir), "--profile", str(profile_path), "-o", str(out), *FAST), out


def test_tune_writes_a_ranked_table_with_the_baseline_first(tuned) -> None:
    proc, out = tuned
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((out / "tune.json").read_text())
    assert data["schema_version"] == 3
    first = data["rows"][0]
    assert first["baseline"] and first["candidate"]["default_session"]
    assert first["candidate"]["batching"]["policy"] == "longest" and first["candidate"]["batch_size"] == 32
    assert not any(r["baseline"] for r in data["rows"][1:])
    assert {a["variant"] for a in data["accuracy"]} == {"onnx", "int8"}
    proof = data["proof"]
    assert proof["winner"]["rows"] == data["data"]["held_out_rows"] > 0
    assert proof["speedup"]["rounds"] == 4 and proof["speedup"]["low"] <= proof["speedup"]["ratio"]
    for side in ("winner", "baseline"):      # the prediction re-made beside every pass, paired with it
        r = proof[side]
        assert len(r["predicted_s"]) == len(r["passes_s"]) == 4
        assert r["error_low"] <= r["error"] <= r["error_high"]
        assert r["predicted_sequences_per_s"] == pytest.approx(r["measured_sequences_per_s"] * (1 + r["error"]))
        assert r["flagged"] == (abs(r["error"]) > 0.10)
        # each round's prediction is its cells' times the round's serving factor (search rows)
        assert r["serving_factor"] > 0 and r["cells_error"] is not None
        assert r["predicted_p99_ms"] > 0
    md = (out / "tune.md").read_text()
    assert md.index("| baseline |") < md.index("| 1 |") and "held-out" in md
    assert "tune.json" in proc.stdout and "proof" in proc.stdout


def test_deploy_json_round_trips_and_names_what_was_measured(tuned) -> None:
    from shapeprof.tune.deploy import load_deploy
    from shapeprof.tune.result import TuneResult

    _, out = tuned
    deploy = load_deploy(out / "deploy.json")
    result = TuneResult.load(out / "tune.json")
    winner = result.winner.candidate
    assert deploy == result.deploy
    assert deploy["batch_size"] == winner.batch_size and deploy["sessions"] == winner.layout.sessions
    assert deploy["batching"] == winner.batching.to_dict() and (out / deploy["model_file"]).is_file()
    assert deploy["session_options"]["config_entries"] == {"session.set_denormal_as_zero": "1"}
    assert deploy["session_options"]["intra_op_num_threads"] == winner.layout.threads
    assert TuneResult.from_dict(result.to_dict()) == result


def test_both_thread_layouts_are_priced_at_every_batch_size_and_their_best_served(tuned) -> None:
    _, out = tuned
    data = json.loads((out / "tune.json").read_text())
    rows = [r["candidate"] for r in data["rows"][1:]]
    sizes = {s: {c["batch_size"] for c in rows if c["sessions"] == s} for s in {c["sessions"] for c in rows}}
    assert {1, 2, 4, 8, 16, 32} <= sizes[1]           # the profile's 1 and 4, the powers of two, 32 and up
    if len(sizes) == 1:
        pytest.skip("one core: no parallel layout to weigh")
    (parallel,) = set(sizes) - {1}
    assert sizes[parallel] == sizes[1]
    served = [(c["sessions"], c["threads"]) for c in data["layouts"]["candidates"]]
    assert sorted(served) == [(1, parallel), (parallel, 1)] and len(data["layouts"]["measured_sequences_per_s"]) == 2


def _serve_module(out: Path):
    spec = importlib.util.spec_from_file_location("serve_under_test", out / "serve.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_serve_snippet_returns_what_the_chosen_graph_computes(tuned) -> None:
    """Batch by batch the chosen graph's own outputs; row by row (no padding) the same for float
    graphs, and within int8's batch-dependent activation scales for dynamic int8."""
    import onnxruntime as ort
    from transformers import AutoTokenizer

    from shapeprof.tune.batching import Batching, plan

    _, out = tuned
    texts = TEXTS * 5                                                  # several batches, reordered by length
    served = _serve_module(out).serve(texts)
    deploy = json.loads((out / "deploy.json").read_text())
    session = ort.InferenceSession(str(out / deploy["model_file"]), providers=["CPUExecutionProvider"])
    tok = AutoTokenizer.from_pretrained(out)
    rows = [{k: v for k, v in tok(t).items() if k in deploy["inputs"]} for t in texts]
    lengths = np.array([len(r["input_ids"]) for r in rows])
    for idx, pad in plan(lengths, Batching.from_dict(deploy["batching"]), deploy["batch_size"]):
        feeds = {k: np.array([rows[i][k] + [0] * (pad - lengths[i]) for i in idx]) for k in deploy["inputs"]}
        hidden = session.run(["last_hidden_state"], feeds)[0]
        mask = feeds["attention_mask"][..., None]
        np.testing.assert_allclose(served[idx], (hidden * mask).sum(1) / mask.sum(1), atol=1e-5)
    for i, row in enumerate(rows):
        alone = session.run(["last_hidden_state"], {k: np.array([v]) for k, v in row.items()})[0][0].mean(0)
        if "int8" in deploy["variant"]:
            assert np.dot(served[i], alone) / np.linalg.norm(served[i]) / np.linalg.norm(alone) > 0.99
        else:
            np.testing.assert_allclose(served[i], alone, atol=1e-4)
    proc = subprocess.run([sys.executable, "serve.py", *TEXTS[:2]], cwd=out, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(proc.stdout.strip().splitlines()) == 2


def test_an_slo_nobody_meets_exits_1_with_the_closest(model_dir, profile_path, tmp_path) -> None:
    proc = tune_cli(str(model_dir), "--profile", str(profile_path), "-o", str(tmp_path / "t"),
                    "--slo-ms", "0.0001", "--quiet", *FAST[2:], "--tune-variants", "onnx")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "no candidate meets the SLO (p50 <= 0.0001 ms per batch)" in proc.stderr
    assert proc.stderr.count("seq/s") >= 1 and "p50" in proc.stderr
    assert not (tmp_path / "t" / "deploy.json").exists()


@pytest.mark.parametrize("header, rows", [
    (["sentence1", "sentence2"], [["a cat", "a dog"], ["one", "two"]]),            # no labels
    (["text", "score"], [["a cat", "1.0"], ["one", "2.0"]]),                        # wrong columns
])
def test_bad_accuracy_data_is_one_line_before_any_timing(model_dir, profile_path, tmp_path, header,
                                                          rows) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    args = [a for a in FAST if a != str(STSB)]
    args[args.index("--accuracy-data") + 1:args.index("--accuracy-data") + 1] = [str(bad)]
    proc = tune_cli(str(model_dir), "--profile", str(profile_path), "-o", str(tmp_path / "t"), *args)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tune error: ") and "bad.tsv" in lines[0]
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize("args, needle", [
    (["--window", "0"], "--window"), (["--slo-ms", "0"], "--slo-ms"), (["--slo-ms", "5", "--slo-p99-ms", "5"],
                                                                       "not allowed with"),
    (["--max-accuracy-drop", "-1"], "--max-accuracy-drop"), (["--tune-variants", "fp16"], "unknown 'fp16'")])
def test_impossible_options_exit_2(model_dir, profile_path, tmp_path, args, needle) -> None:
    proc = tune_cli(str(model_dir), "--profile", str(profile_path), "-o", str(tmp_path / "t"), *args)
    assert proc.returncode == 2 and needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "t").exists()


def test_export_with_tune_writes_the_tune_beside_the_model(tiny_bert_dir, tmp_path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "shapeprof", "export", "--model", str(tiny_bert_dir),
                           "--dataset", "glue", "--data-dir", str(GLUE), "--rows", "160", "--tune",
                           "--tune-variants", "onnx,int8", "--max-batch", "64", "--window", "32",
                           "--accuracy-rows", "200", "--quiet", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((out / "tune" / "tune.json").read_text())
    assert data["model"]["task"] == "text-classification" and data["rows"][0]["baseline"]
    assert data["accuracy"][0]["metric"] == "accuracy" and (out / "tune" / "deploy.json").is_file()
    assert "tune: proof" in proc.stdout and (out / "model.onnx").is_file()
