"""Generation workloads end to end: a chat dataset drives the export of a decoder with past, the
bench sweeps over its real (prompt, completion) pairs, and real requests are replayed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shapeprof.bench.benchmark import run_benchmark
from shapeprof.bench.options import BenchOptions
from shapeprof.bench.replay import sample_rows

TEMPLATE = ("{% for m in messages %}### {{ m['role'] }}:\n{{ m['content'] }}\n\n{% endfor %}"
            "{% if add_generation_prompt %}### assistant:\n{% endif %}")
FAST = dict(variants=("onnx",), rounds=2, warmup=1, min_samples=2, min_time_s=0.0, progress=False)


@pytest.fixture(scope="module")
def exported(tmp_path_factory, shared_data: Path):
    from shapeprof.export.profiled import export_with_profile

    tmp = tmp_path_factory.mktemp("chat")
    template = tmp / "chat.jinja"
    template.write_text(TEMPLATE, encoding="utf-8")
    options = dict(prompt_columns="instruction,input", completion_column="output",
                   chat_template=template, rows=40, batch_sizes=(1, 2))
    done = export_with_profile(tmp / "out", shared_data / "models" / "tiny-gpt2",
                               str(shared_data / "chat" / "alpaca_5000.json"), "text-generation-with-past",
                               profile_options=options, bench=True,
                               bench_options={**FAST, "replay_rows": 5}, progress=False)
    return done


def test_chat_data_exports_a_decoder_with_past_verified_on_real_prompts(exported):
    report = exported.export.verification
    assert report.passed and sum(c.source == "data" for c in report.checks) == 3
    assert exported.profile.generation is not None and exported.export.task == "text-generation-with-past"


def test_the_bench_sweeps_and_estimates_over_the_real_pairs(exported):
    res, gen = exported.bench, exported.profile.generation
    ends = max(p + n - 2 for p, n in gen.pairs)
    assert max(c.past_length for c in res.cells if c.phase == "decode") == ends
    assert res.settings["new_tokens_source"] == "data pairs" and res.generation == ()
    assert [(r.batch_size, r.requests, r.source) for r in res.requests] == [(1, 40, "data pairs"),
                                                                             (2, 40, "data pairs")]
    for r in res.requests:
        assert 0 < r.ttft_ms["p50"] <= r.latency_ms["p50"] <= r.latency_ms["p99"]
        assert r.tokens_per_s > 0 and r.outside_measured == 0.0
    saved = json.loads((exported.export.output_dir / "bench.json").read_text())
    assert len(saved["requests"]) == 2 and len(saved["generation_replays"]) == 1


def test_replay_runs_real_requests_for_exactly_their_completion_lengths(exported):
    replay, = exported.bench.generation_replays
    requests = exported.profile.generation.requests
    picked = sample_rows(len(requests.prompts), 5, 0)
    assert (replay.requests, replay.batch_size, replay.rounds) == (5, 1, 2)
    assert replay.decode_steps == int(sum(requests.new_tokens[picked] - 1))
    assert replay.predicted_s > 0 and 0 < replay.calls_s < replay.measured_s
    assert replay.error == pytest.approx((replay.predicted_s - replay.measured_s) / replay.measured_s)
    for figures in (replay.ttft_ms, replay.latency_ms):
        assert set(figures) == {"predicted", "measured"} and figures["measured"]["p50"] > 0


def test_bench_from_the_saved_profile_reloads_the_requests(exported):
    out = exported.export.output_dir
    res = run_benchmark(out, out / "profile.json",
                        BenchOptions(batch_sizes=[1], replay_rows=3, new_tokens=3, **FAST))
    assert res.settings["new_tokens_source"] == "constant 3"
    assert [g.new_tokens for g in res.generation] == [3] and res.requests[0].mean_new_tokens == 3
    replay, = res.generation_replays
    assert replay.requests == 3 and replay.decode_steps > 0          # real completions, reloaded
