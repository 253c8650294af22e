"""``shapeprof bench`` and ``run_benchmark`` on a tiny exported BERT: tiny sweeps, no timing asserts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shapeprof import schema
from shapeprof.bench import BenchOptions, BenchResults, run_benchmark
from shapeprof.errors import BenchError

GLUE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "glue"
FAST = dict(warmup=1, min_samples=2, min_time_s=0.0, rounds=3, intra_op_threads=1, progress=False)
CLI_FAST = ["--warmup", "1", "--min-samples", "2", "--min-time", "0", "--rounds", "3", "--threads", "1",
            "--no-progress"]


def bench(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shapeprof", "bench", *args], capture_output=True,
                          text=True, timeout=timeout)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("bench error: ")
    return lines[0]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, minilm_dir) -> Path:
    """A tiny BERT with MiniLM's tokenizer, exported, with its PyTorch weights saved beside it."""
    from transformers import AutoTokenizer

    from shapeprof.export import export
    from shapeprof.testing.tiny import tiny_model

    tok = AutoTokenizer.from_pretrained(minilm_dir)
    model = tiny_model("bert", "feature-extraction", vocab_size=tok.vocab_size,
                       max_position_embeddings=128)
    out = tmp_path_factory.mktemp("bench") / "tiny-bert"

    def extra(tmp: Path) -> None:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)

    export(model, out, task="feature-extraction", extra_files=extra)
    return out


@pytest.fixture(scope="module")
def profile_path(model_dir, tmp_path_factory) -> Path:
    from shapeprof.profile import profile_dataset

    profile = profile_dataset(model_dir, "glue", data_dir=GLUE, rows=120, batch_sizes=(1, 4),
                              progress=False)
    return profile.save(tmp_path_factory.mktemp("profile") / "profile.json")


def copy_without(src: Path, dst: Path, *names: str) -> Path:
    shutil.copytree(src, dst)
    for name in names:
        (dst / name).unlink()
    return dst


def test_cli_tiny_sweep_writes_results_csv_and_summary(model_dir, tmp_path):
    out, csv = tmp_path / "r.json", tmp_path / "r.csv"
    proc = bench(str(model_dir), "-b", "1,2", "-s", "8,16", "-o", str(out), "--csv", str(csv), *CLI_FAST)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "### Cells" in proc.stdout and "x PyTorch" in proc.stdout
    data = json.loads(out.read_text())
    assert data["schema_version"] == schema.BENCH.version
    assert data["settings"]["intra_op_threads"] == 1 and data["settings"]["flush_denormals"] is True
    assert "denormals flushed to zero" in proc.stdout
    assert data["environment"]["versions"]["onnxruntime"]
    assert {(c["variant"], c["batch_size"], c["sequence_length"]) for c in data["cells"]} == {
        (v, b, n) for v in ("onnx", "pytorch") for b in (1, 2) for n in (8, 16)}
    assert all(len(c["samples_ms"]) >= 2 for c in data["cells"])
    assert all(len(c["round_sizes"]) == c["rounds"] == 3 and sum(c["round_sizes"]) == len(c["samples_ms"])
               for c in data["cells"])
    assert "onnx vs PyTorch, paired by round (95% interval): faster in" in proc.stdout
    assert csv.read_text().startswith("variant,runtime,batch_size,sequence_length")
    # memory a user can act on: the process's peak RSS (a whole Python + torch process: >= 50 MiB)
    # and the session's own growth at the cell, both labelled
    assert "| process peak RSS MiB | session growth MiB |" in proc.stdout
    assert all(c["process_peak_rss_mib"] >= 50 and 0 <= c["session_growth_mib"] <= c["process_peak_rss_mib"]
               for c in data["cells"])
    assert proc.stderr.strip() == ""            # --no-progress (= --quiet): errors only on stderr


def test_api_with_profile_variants_expected_and_replay(model_dir, profile_path):
    res = run_benchmark(model_dir, profile_path, BenchOptions(
        batch_sizes=[1, 4], variants=("onnx", "optimized", "int8"), replay_rows=24, replay_repeats=1, **FAST))
    assert res.settings["input_source"] == "data"
    lengths = {c.sequence_length for c in res.cells}
    assert set(res.settings["profile"]["bucket_edges"]) <= lengths and 128 in lengths
    info = {v.name: v for v in res.variants}
    assert info["onnx"].reference == "pytorch" and info["onnx"].within_tolerance
    assert info["optimized"].max_abs_diff < 1e-3
    assert info["int8"].max_abs_diff > 0                      # int8 costs accuracy; it is reported
    df = res.to_dataframe()
    assert set(df.variant) == {"onnx", "optimized", "int8", "pytorch"}
    policies = {e.policy for e in res.expected if e.variant == "onnx"}
    assert policies == {"data_max", "pad:128", "longest", "sorted", "buckets"}
    assert all(e.batch_size == 4 for e in res.expected)
    assert {r.policy for r in res.replays} == policies
    assert all(r.predicted_s > 0 and r.measured_s > 0 for r in res.replays)
    assert all(len(r.passes_s) == 3 for r in res.replays)    # 1 pass x 3 rounds
    assert all(r.side_by_side_s > 0 and abs(r.side_by_side_error) < 10 for r in res.replays)
    assert all(r.round_error_low <= r.round_error <= r.round_error_high for r in res.replays)
    assert BenchResults.from_dict(json.loads(json.dumps(res.to_dict()))) == res


def test_flush_denormals_reaches_sessions_and_torch(model_dir, monkeypatch):
    import torch

    from shapeprof.bench import runner

    made, flags = [], []
    real = runner.make_session

    def spy(path, settings):
        session = real(path, settings)
        try:
            made.append(session.get_session_options().get_session_config_entry(
                "session.set_denormal_as_zero"))
        except RuntimeError:                    # onnxruntime: the entry was never set
            made.append("unset")
        return session

    monkeypatch.setattr("shapeprof.bench.context.make_session", spy)
    monkeypatch.setattr(torch, "set_flush_denormal", lambda on: flags.append(on) or True)
    monkeypatch.setattr("shapeprof.bench.runner.thread_flushes_denormals", lambda: False)
    kept = run_benchmark(model_dir, options=BenchOptions(batch_sizes=[1], sequence_lengths=[8],
                                                         flush_denormals=False, **FAST))
    assert kept.settings["flush_denormals"] is False and made and "1" not in made
    assert flags == [False, False]                     # the calling thread is set to keep, then restored
    made.clear(), flags.clear()
    flushed = run_benchmark(model_dir, options=BenchOptions(batch_sizes=[1], sequence_lengths=[8], **FAST))  # default
    assert flushed.settings["flush_denormals"] is True and set(made) == {"1"}
    assert flags == [True, False]                      # flushed during the run only


def test_fresh_process_rounds(model_dir):
    res = run_benchmark(model_dir, options=BenchOptions(batch_sizes=[1], sequence_lengths=[8], pytorch=False,
                                                        fresh_process=True, **{**FAST, "rounds": 2}))
    [cell] = res.cells
    assert cell.rounds == 2 and len(cell.samples_ms) >= 4
    assert res.variants[0].reference == "onnx"


def test_calibrate_runs_bench_and_divides_by_the_reference(model_dir, tmp_path):
    """Live calibration: each run times the encoder reference; calibrate and compare use it
    without being asked."""
    import json

    from shapeprof.bench.reference import WORKLOAD

    runs, out = tmp_path / "runs", tmp_path / "t.yaml"
    proc = subprocess.run([sys.executable, "-m", "shapeprof", "calibrate", str(model_dir), "--runs", "3",
                           "--rounds", "3", "-b", "1", "-s", "16", "--save-runs", str(runs), "-o", str(out),
                           "--quiet"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "divided by the reference workload per round" in out.read_text().splitlines()[0]
    saved = sorted(runs.glob("run-*.json"))
    assert len(saved) == 3
    ref = json.loads(saved[0].read_text())["reference"]
    assert ref["workload"] == WORKLOAD and len(ref["round_sizes"]) == 3
    report = subprocess.run([sys.executable, "-m", "shapeprof", "compare", str(saved[0]), str(saved[1])],
                            capture_output=True, text=True, timeout=300)
    assert report.returncode in (0, 1) and "divided by the reference" in report.stdout


def test_torch_model_option_when_the_export_has_no_weights(model_dir, tmp_path):
    bare = copy_without(model_dir, tmp_path / "bare", "model.safetensors")
    line = one_line_error(bench(str(bare), "-b", "1", "-s", "8", *CLI_FAST))
    assert "no PyTorch weights" in line and "--torch-model" in line
    res = run_benchmark(bare, options=BenchOptions(batch_sizes=[1], sequence_lengths=[8], torch_model=model_dir,
                                                   **FAST))
    assert {c.variant for c in res.cells} == {"onnx", "pytorch"}


def test_missing_model_file(model_dir, tmp_path):
    broken = copy_without(model_dir, tmp_path / "broken", "model.onnx")
    line = one_line_error(bench(str(broken), *CLI_FAST))
    assert "no model.onnx" in line and "shapeprof export" in line


def test_profile_from_another_model(model_dir, profile_path, tmp_path):
    data = json.loads(profile_path.read_text())
    data["model"]["model_type"] = "gpt2"
    data["model"]["tokenizer_class"] = "GPT2Tokenizer"
    other = tmp_path / "gpt2-profile.json"
    other.write_text(json.dumps(data))
    line = one_line_error(bench(str(model_dir), "--profile", str(other), *CLI_FAST))
    assert "'gpt2'" in line and "shapeprof profile" in line


def test_empty_grid_and_bad_lists(model_dir):
    with pytest.raises(BenchError, match="sweep is empty"):
        run_benchmark(model_dir, options=BenchOptions(batch_sizes=[], pytorch=False, **FAST))
    line = one_line_error(bench(str(model_dir), "--batch-sizes", "1,,8", *CLI_FAST))
    assert "--batch-sizes" in line
    line = one_line_error(bench(str(model_dir), "--sequence-lengths", "512", *CLI_FAST))
    assert "limit of 128" in line
    line = one_line_error(bench(str(model_dir), "--variants", "fp16", *CLI_FAST))
    assert "unknown variant 'fp16'" in line


def test_help_is_cheap():
    code = ("import sys; from shapeprof.cli import build_parser; build_parser(); "
            "import shapeprof.bench; print(any(m in sys.modules for m in ('torch', 'onnxruntime')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---- decoder with past: the generation sweep -------------------------------------------------
@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory, shared_data) -> Path:
    """The tiny-gpt2 checkpoint exported for text-generation-with-past (tokenizer included)."""
    from shapeprof.export import export

    out = tmp_path_factory.mktemp("gen") / "tiny-gpt2"
    export(str(shared_data / "models" / "tiny-gpt2"), out, task="text-generation-with-past")
    return out


def test_generation_sweep_prefill_decode_and_expected_per_request(gpt2_dir, tmp_path):
    from shapeprof.profile import profile_dataset

    profile = profile_dataset(gpt2_dir, "glue", data_dir=GLUE, rows=60, batch_sizes=(1, 2),
                              progress=False).save(tmp_path / "p.json")
    out, csv = tmp_path / "r.json", tmp_path / "r.csv"
    proc = bench(str(gpt2_dir), "--profile", str(profile), "-b", "1,2", "--new-tokens", "4", "-o",
                 str(out), "--csv", str(csv), *CLI_FAST)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "### Expected per request" in proc.stdout and "decode 1x1 past" in proc.stdout
    res = BenchResults.load(out)
    prompts = {c.sequence_length for c in res.cells if c.phase == "prefill"}
    pasts = {c.past_length for c in res.cells if c.phase == "decode"}
    assert pasts == {p + k for p in prompts for k in (0, 1, 2)}       # N=4: decode at past P..P+2
    assert {c.runtime for c in res.cells} == {"onnxruntime"} and res.settings["input_source"] == "data"
    assert all(c.sequence_length == 1 for c in res.cells if c.phase == "decode")
    assert [(g.batch_size, g.new_tokens) for g in res.generation] == [(1, 4), (2, 4)]
    assert all(0 < g.ttft_ms < g.total_ms and g.tokens_per_s > 0 for g in res.generation)
    assert any("no PyTorch baseline" in n for n in res.notes)
    assert "phase,past_length" in csv.read_text().splitlines()[0]


def test_generation_sweep_without_profile_uses_given_prompt_lengths(gpt2_dir):
    res = run_benchmark(gpt2_dir, options=BenchOptions(batch_sizes=[1], sequence_lengths=[4, 8], new_tokens=3,
                                                       **FAST))
    assert {(c.phase, c.sequence_length, c.past_length) for c in res.cells} == {
        ("prefill", 4, 0), ("prefill", 8, 0), ("decode", 1, 4), ("decode", 1, 5), ("decode", 1, 8),
        ("decode", 1, 9)}
    assert [round(g.mean_prompt_length) for g in res.generation] == [4, 8]
    assert res.settings["input_source"] == "random" and res.settings["new_tokens"] == 3
