"""benchmarks/census.py: classification, JSON lines, markdown and generic shrinking (no export)."""

from __future__ import annotations

import json

from shapeprof.errors import ConfigError, ExportError, VerificationError


def test_exceptions_are_classified_by_kind(census):
    assert census.classify_exception(VerificationError("outputs differ\nmore")) == (
        "mismatch", "verify error: outputs differ")
    status, reason = census.classify_exception(ConfigError("cannot derive X; register a class for it: ..."))
    assert status == "refused" and reason.startswith("config error: cannot derive X")
    assert census.short_reason(reason) == "config error: cannot derive X"
    assert census.classify_exception(ExportError("torch.export failed"))[0] == "refused"
    assert census.classify_exception(RuntimeError("boom\ntraceback line")) == ("crash", "RuntimeError: boom")
    assert census.classify_exception(KeyError("x")) == ("crash", "KeyError: 'x'")
    assert census.classify_exception(ValueError()) == ("crash", "ValueError")
    assert census.classify_exception(ImportError("\nX requires the timm library\n")) == (
        "crash", "ImportError: X requires the timm library")
    assert len(census.classify_exception(RuntimeError("x" * 1000))[1]) == census.REASON_CHARS


def test_results_and_dead_workers_are_classified(census):
    assert census.classify_result("registered", True) == "registered"
    assert census.classify_result("derived", True, True) == "derived"
    assert census.classify_result("derived", False) == "mismatch"
    assert census.classify_result("registered", True, generation_passed=False) == "mismatch"
    assert census.died(None, True, 120, "") == ("crash", "timeout: no result after 120 s")
    assert census.died(-11, False, 120, "") == ("crash", "process died (killed by signal 11)")
    assert census.died(1, False, 120, "Traceback\n  ...\nMemoryError: big\n") == (
        "crash", "process died (exit 1): MemoryError: big")


def test_jsonl_appends_resumes_and_skips_a_cut_line(census, tmp_path):
    out = tmp_path / "census.jsonl"
    assert census.read_jsonl(out) == []
    census.append_jsonl(out, {"model_type": "bert", "status": "crash", "reason": "first try"})
    census.append_jsonl(out, {"model_type": "vit", "status": "registered", "modality": "image"})
    census.append_jsonl(out, {"model_type": "bert", "status": "registered", "modality": "text"})
    with open(out, "a") as f:
        f.write('{"model_type": "llama", "stat')   # a run killed mid-write
    records = {r["model_type"]: r for r in census.read_jsonl(out)}
    assert set(records) == {"bert", "vit"} and records["bert"]["status"] == "registered"
    assert all(json.loads(line) for line in out.read_text().splitlines()[:3])


def records():
    return [
        {"model_type": "bert", "modality": "text", "task": "feature-extraction", "status": "registered"},
        {"model_type": "nezha", "modality": "text", "task": "feature-extraction", "status": "derived"},
        {"model_type": "mamba", "modality": "text", "task": "text-generation-with-past", "status": "refused",
         "reason": "config error: cannot derive 'mamba': cache: not a per-layer cache; register a class for it: x"},
        {"model_type": "odd", "modality": "text", "task": "feature-extraction", "status": "crash",
         "reason": "RuntimeError: a | b"},
        {"model_type": "remote", "modality": "text", "task": None, "status": "not buildable",
         "reason": "no config class"},
        {"model_type": "vit", "modality": "image", "task": "image-classification", "status": "registered"},
        {"model_type": "glpn", "modality": "image", "task": "feature-extraction", "status": "mismatch",
         "reason": "verify error: x"},
    ]


def test_summary_excludes_not_buildable_from_the_share(census):
    counts = census.summary(records())
    assert counts["text"] == {"registered": 1, "derived": 1, "refused": 1, "crash": 1, "not buildable": 1}
    assert census.verified_share(counts["text"]) == (2, 4)
    assert census.verified_share(counts["all"]) == (3, 6)


def test_markdown_has_a_row_per_modality_and_the_problems_with_reasons(census):
    text = census.markdown(records(), {"transformers": "5.0"})
    lines = text.splitlines()
    assert lines[0] == "- transformers: 5.0"
    assert "| text | 5 | 1 | 1 | 1 | 0 | 1 | 1 | 50 |" in lines
    assert "| image | 2 | 1 | 0 | 0 | 1 | 0 | 0 | 50 |" in lines
    assert "| **all** | 7 | 2 | 1 | 1 | 1 | 1 | 1 | 50 |" in lines
    problems = lines[lines.index("| model type | modality | task | status | reason |") + 2:]
    names = [line.split(" | ")[0].lstrip("| ") for line in problems]
    assert names == ["glpn", "odd", "mamba", "remote"]   # mismatch, crash, refused, not buildable
    assert "| mamba | text | text-generation-with-past | refused | config error: cannot derive 'mamba': " \
           "cache: not a per-layer cache |" in lines
    assert "RuntimeError: a \\| b" in text and "register a class" not in text
    assert census.markdown([]).count("\n") == 2


def test_shrinking_a_default_config(census):
    from transformers import LlamaConfig, SwinConfig, Wav2Vec2Config

    kwargs = census.shrink_kwargs(LlamaConfig(), vocab=500)
    assert kwargs["hidden_size"] == 32 and kwargs["num_hidden_layers"] == 2
    assert kwargs["num_attention_heads"] == 4 and kwargs["num_key_value_heads"] == 4   # MHA stays MHA
    assert kwargs["intermediate_size"] == 64 and kwargs["vocab_size"] == 500
    config = LlamaConfig(**{**LlamaConfig().to_dict(), **kwargs})
    assert config.hidden_size == 32 and config.vocab_size == 500
    gqa = census.shrink_kwargs(LlamaConfig(num_key_value_heads=8))
    assert gqa["num_key_value_heads"] == 2 and "vocab_size" not in gqa
    assert census.shrink_kwargs(LlamaConfig(bos_token_id=900, pad_token_id=5), vocab=500)["bos_token_id"] == 1
    assert census.shrink_kwargs(SwinConfig())["depths"] == [1, 1, 1, 1]
    assert census.shrink_kwargs(Wav2Vec2Config())["conv_dim"] == [32] * 7


def test_shrunk_hybrids_keep_every_layer_kind_and_moes_can_route(census):
    """Qwen3-Next's default repeats 3 linear-attention layers and 1 full one: 2 layers would keep no
    attention at all. DeepSeek-V2's default routes to None experts; Kimi-Linear names its top-k
    num_experts_per_token (an attribute_map alias)."""
    from transformers import DeepseekV2Config, KimiLinearConfig, LlamaConfig, Qwen3NextConfig

    hybrid = census.shrunk_config(Qwen3NextConfig, "text-generation-with-past", 128)
    assert hybrid.layer_types == ["linear_attention"] * 3 + ["full_attention"]
    assert census.layers_for_every_kind(LlamaConfig()) is None
    assert census.shrunk_config(DeepseekV2Config, "text-generation-with-past", 128).num_experts_per_tok == 2
    assert census.shrink_kwargs(KimiLinearConfig())["num_experts_per_tok"] == 2


def test_all_zero_router_gates_are_drawn(census):
    import torch

    model = torch.nn.Module()
    model.router = torch.nn.Linear(4, 3, bias=False)
    model.proj = torch.nn.Linear(4, 3, bias=False)
    torch.nn.init.zeros_(model.router.weight)
    torch.nn.init.zeros_(model.proj.weight)
    assert census.reinit_zero_routers(model, 0.1) == ["router.weight"]
    assert model.router.weight.any() and not model.proj.weight.any()   # only router gates


def test_main_task_and_modality_without_building(census):
    from shapeprof.onnx.builtin import default_registry

    registry = default_registry()
    assert census.main_task("bert", registry) == "feature-extraction"
    assert census.main_task("llama", registry) == "text-generation-with-past"
    assert census.main_task("vit", registry) == "image-classification"
    assert census.main_task("roc_bert", registry) == "feature-extraction"   # a causal-LM head, still an encoder
    assert census.main_task("helium", registry) == "text-generation-with-past"
    assert census.modality_guess("wav2vec2", "automatic-speech-recognition", registry) == "audio"
    assert census.modality_guess("clip", "zero-shot-image-classification", registry) == "text+image"
    assert census.modality_guess("whisper", "automatic-speech-recognition-with-past", registry) == "audio"
    assert census.modality_guess("helium", "text-generation-with-past", registry) == "text"
    assert "bert" in census.candidate_types() and len(census.candidate_types()) > 108


def test_summarize_writes_the_markdown_from_the_jsonl(census, tmp_path):
    out, md = tmp_path / "census.jsonl", tmp_path / "census.md"
    for record in records():
        census.append_jsonl(out, record)
    assert census.main(["--summarize", "--out", str(out), "--markdown", str(md)]) == 0
    text = md.read_text()
    assert "- transformers: " in text and "- types: 7" in text and "summarized with" in text
    assert "| **all** | 7 | 2 | 1 | 1 | 1 | 1 | 1 | 50 |" in text
