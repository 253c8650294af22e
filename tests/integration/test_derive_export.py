"""Derived configs export and verify exactly as registered ones: a text encoder nobody registered,
a derived BERT against the registered one (same graph form), a decoder with past and greedy
generation parity, an image model, and the CLI's ``--config auto``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import onnx
import pytest
from support import random_model

from shapeprof.export import export
from shapeprof.testing.tiny import tiny_model

SMALL = {"vocab_size": 128, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
         "intermediate_size": 37}


def build(model_type: str, task: str, **overrides: Any) -> Any:
    """A tiny random model of a type without a tiny config in shapeprof.testing."""
    return random_model(model_type, task, **{**SMALL, **overrides})


def graph_io(path: Path) -> dict[str, list[tuple[str, ...]]]:
    """Input and output names with their dims (symbolic names or sizes)."""
    graph = onnx.load(str(path)).graph

    def dims(value: Any) -> tuple[str, ...]:
        return tuple(d.dim_param or str(d.dim_value) for d in value.type.tensor_type.shape.dim)

    return {"inputs": [(v.name, *dims(v)) for v in graph.input],
            "outputs": [(v.name, *dims(v)) for v in graph.output]}


def op_types(path: Path) -> Counter[str]:
    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def record(out: Path) -> dict[str, Any]:
    return json.loads((out / "shapeprof_export.json").read_text())


def test_unregistered_text_encoder_is_derived_and_verified(tmp_path: Path) -> None:
    result = export(build("ernie", "fill-mask", max_position_embeddings=64), tmp_path / "out", "fill-mask",
                    config="auto")
    assert result.verification.passed and result.config == "derived"
    info = record(tmp_path / "out")
    assert info["config"] == "derived" and info["derivation"]["fusable_attention"] is True
    assert info["derivation"]["static_output_dims"] == {"logits": {"2": 128}}
    assert info["inputs"] == {n: {"0": "batch_size", "1": "sequence_length"}
                              for n in ("input_ids", "attention_mask", "token_type_ids")}
    assert info["dynamic_bounds"]["sequence_length"] == [1, 64]   # from max_position_embeddings


def test_derived_bert_has_the_registered_graph_form(tmp_path: Path) -> None:
    from shapeprof.bench.model_dir import open_model_dir
    from shapeprof.bench.variants import optimize

    model = tiny_model("bert", "feature-extraction")
    outs = {how: tmp_path / how for how in ("registered", "auto")}
    for how, out in outs.items():
        result = export(model, out, "feature-extraction", config=how)
        assert result.verification.passed
        assert record(out)["config"] == ("derived" if how == "auto" else "registered")
    registered, derived = (out / "model.onnx" for out in outs.values())
    assert graph_io(derived) == graph_io(registered)
    assert op_types(derived) == op_types(registered)
    fused = {how: optimize(open_model_dir(out), tmp_path / f"{how}-opt.onnx")[1] for how, out in outs.items()}
    assert fused["auto"] == fused["registered"] and fused["auto"].get("Attention") == 2


def test_derived_decoder_with_past_matches_generate(tmp_path: Path) -> None:
    model = build("gpt_neox", "text-generation-with-past", max_position_embeddings=128, rotary_pct=0.5,
                  bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False)
    result = export(model, tmp_path / "out", "text-generation-with-past", config="auto")
    assert result.verification.passed and result.generation and all(c.passed for c in result.generation)
    info = record(tmp_path / "out")
    assert info["derivation"]["cache"] == {"layers": 2, "key_value_heads": 4, "head_dim": 8,
                                           "sliding_layers": [], "sliding_window": None}
    io = graph_io(tmp_path / "out" / "model.onnx")
    assert [n for n, *_ in io["inputs"]][:3] == ["input_ids", "attention_mask", "position_ids"]
    assert [n for n, *_ in io["outputs"]] == ["logits", *(f"present.{i}.{k}" for i in range(2)
                                                          for k in ("key", "value"))]


def test_derived_latent_attention_decoder_keeps_its_past(tmp_path: Path) -> None:
    """DeepSeek-V3 caches keys wider than values (latent attention): exported with past, per-layer
    shapes, verified and generating as ``generate`` does."""
    model = build("deepseek_v3", "text-generation-with-past", num_key_value_heads=4, kv_lora_rank=16, q_lora_rank=16,
                  qk_nope_head_dim=8, qk_rope_head_dim=8, v_head_dim=8, n_routed_experts=4, moe_intermediate_size=16,
                  num_experts_per_tok=2, n_group=1, topk_group=1, first_k_dense_replace=1, max_position_embeddings=128,
                  bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=False, initializer_range=0.3)
    result = export(model, tmp_path / "out", "text-generation-with-past", config="auto")
    assert result.task == "text-generation-with-past" and result.verification.passed
    assert result.generation and all(c.passed and not c.degenerate for c in result.generation)
    io = dict((name, dims) for name, *dims in graph_io(tmp_path / "out" / "model.onnx")["inputs"])
    assert io["past_key_values.0.key"][-1] == "16" and io["past_key_values.0.value"][-1] == "8"


def test_derived_image_model_keeps_image_axes_dynamic(tmp_path: Path) -> None:
    model = build("convnextv2", "image-classification", image_size=32, hidden_sizes=[8, 16], depths=[1, 1],
                  num_labels=3)
    result = export(model, tmp_path / "out", "image-classification", config="auto")
    assert result.verification.passed and result.config == "derived"
    assert record(tmp_path / "out")["derivation"]["static_axes"] == []
    assert graph_io(tmp_path / "out" / "model.onnx")["inputs"] == [
        ("pixel_values", "batch_size", "3", "height", "width")]


def test_cli_config_auto(tmp_path: Path) -> None:
    build("roformer", "text-classification", max_position_embeddings=64,
          embedding_size=32).save_pretrained(tmp_path / "m")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "shapeprof", "export", "--model", str(tmp_path / "m"),
                           "--config", "auto", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "with a derived config" in proc.stdout
    info = record(out)
    assert info["config"] == "derived" and info["task"] == "text-classification"
    assert info["schema_version"] == 3 and info["derivation"]["family"] == "TextEncoderOnnxConfig"


def test_data_dependent_control_flow_fails_with_the_registration_hint(tmp_path: Path) -> None:
    from transformers import BertModel

    from shapeprof.errors import ExportError

    class Branchy(BertModel):
        def forward(self, input_ids: Any = None, attention_mask: Any = None, **kwargs: Any) -> Any:
            if input_ids.sum() > 100:      # data-dependent: torch.export cannot trace both branches
                input_ids = input_ids.flip(-1)
            return super().forward(input_ids=input_ids, attention_mask=attention_mask, **kwargs)

    model = Branchy(tiny_model("bert").config).eval()
    with pytest.raises(ExportError) as info:
        export(model, tmp_path / "out", "feature-extraction", config="auto")
    message = str(info.value)
    assert "\n" not in message and "(derived config)" in message
    assert "@shapeprof.register('bert', 'feature-extraction')" in message and "TextEncoderOnnxConfig" in message
    assert not (tmp_path / "out").exists()


def test_video_model_is_derived_exported_and_verified(tmp_path: Path) -> None:
    import torch
    from transformers import AutoConfig, VideoMAEModel

    torch.manual_seed(0)
    config = AutoConfig.for_model("videomae", image_size=32, patch_size=8, num_frames=4, tubelet_size=2,
                                  hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37)
    result = export(VideoMAEModel(config).eval(), tmp_path / "out", "feature-extraction", config="auto")
    assert result.verification.passed and result.config == "derived"
    assert graph_io(tmp_path / "out" / "model.onnx")["inputs"] == [("pixel_values", "batch_size", "4", "3", "32", "32")]
    assert [label for label, _ in result.plan.verify_shapes] == ["smallest", "trace", "large"]
