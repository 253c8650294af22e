"""Hybrid decoders whose layers scan the sequence (Gated DeltaNet, Mamba) are derived, exported for
any length up to ``SCAN_LENGTH``, verified and generate as ``generate`` does (no past: recurrent
state is no flat key/value cache)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnx
import pytest

from shapeprof.export import export
from shapeprof.onnx.derive.hybrid import SCAN_LENGTH
from shapeprof.onnx.tasks import auto_class

GENERATIVE = {"vocab_size": 128, "hidden_size": 32, "num_hidden_layers": 2, "bos_token_id": 1, "eos_token_id": 2,
              "pad_token_id": 0, "tie_word_embeddings": False, "initializer_range": 0.1}
MODELS = {
    "qwen3_5_text": {"num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "intermediate_size": 37,
                     "layer_types": ["linear_attention", "full_attention"], "linear_num_key_heads": 2,
                     "linear_num_value_heads": 4, "linear_key_head_dim": 8, "linear_value_head_dim": 8},
    "mamba": {"state_size": 4, "intermediate_size": 64, "time_step_rank": 4},
}


def build(model_type: str) -> Any:
    import torch
    from transformers import AutoConfig

    torch.manual_seed(0)
    config = AutoConfig.for_model(model_type, **GENERATIVE, **MODELS[model_type])
    return auto_class("text-generation", model_type).from_config(config).eval()


@pytest.mark.parametrize("model_type", sorted(MODELS))
def test_a_scanning_decoder_exports_for_any_length_and_generates(model_type: str, tmp_path: Path) -> None:
    result = export(build(model_type), tmp_path / "out", "text-generation-with-past", config="auto")
    assert result.task == "text-generation" and result.config == "derived" and result.verification.passed
    assert result.generation and all(c.passed and not c.degenerate for c in result.generation)
    ids = next(i for i in onnx.load(str(tmp_path / "out" / "model.onnx")).graph.input if i.name == "input_ids")
    assert ids.type.tensor_type.shape.dim[1].dim_param   # the sequence axis stays dynamic
    derivation = json.loads((tmp_path / "out" / "shapeprof_export.json").read_text())["derivation"]
    assert derivation["scan"].endswith(f"sequence_length at most {SCAN_LENGTH}")
