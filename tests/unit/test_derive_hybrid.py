"""Linear-attention and linear-recurrence layers exported with loops of fixed count
(:mod:`shapeprof.onnx.derive.hybrid`): each replacement gives transformers' own results."""

from __future__ import annotations

from typing import Any

import pytest

from shapeprof.onnx.derive import derive_onnx_config
from shapeprof.onnx.derive import hybrid

TINY_GDN = {"vocab_size": 128, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
            "num_key_value_heads": 2, "head_dim": 8, "intermediate_size": 37,
            "layer_types": ["linear_attention", "full_attention"], "linear_num_key_heads": 2,
            "linear_num_value_heads": 4, "linear_key_head_dim": 8, "linear_value_head_dim": 8}


def delta_inputs(length: int, key_heads: int, value_heads: int, per_dim_decay: bool = False,
                 strength: float = 1.0) -> dict[str, Any]:
    import torch

    gen = torch.Generator().manual_seed(length)
    batch, size = 2, 8
    decay = (batch, length, value_heads, size) if per_dim_decay else (batch, length, value_heads)
    key = torch.randn(batch, length, key_heads, size, generator=gen)
    return {"query": torch.randn(batch, length, key_heads, size, generator=gen),
            "key": key[:, :1] + 0.3 * key,   # similar keys: large entries in the triangular systems
            "value": torch.randn(batch, length, value_heads, size, generator=gen),
            "g": -0.1 * torch.rand(*decay, generator=gen),
            "beta": strength * torch.rand(batch, length, value_heads, generator=gen),
            "initial_state": torch.randn(batch, value_heads, size, size, generator=gen)}


@pytest.mark.parametrize("length, key_heads, value_heads, strength", [(5, 2, 2, 1.0), (70, 2, 4, 1.0), (64, 2, 2, 2.0)])
def test_gated_delta_rule_gives_transformers_outputs_and_state(length: int, key_heads: int, value_heads: int,
                                                               strength: float) -> None:
    """One chunk and two, grouped value heads, an initial state, update strengths up to 2 (OLMo-Hybrid's
    negative eigenvalues) over a whole chunk: outputs and final state as transformers'."""
    import torch
    from transformers.models.qwen3_next.modeling_qwen3_next import torch_chunk_gated_delta_rule

    inputs = delta_inputs(length, key_heads, value_heads, strength=strength)
    kwargs = {"output_final_state": True, "use_qk_l2norm_in_kernel": True}
    expected = torch_chunk_gated_delta_rule(**inputs, **kwargs)
    got = hybrid.gated_delta_rule(**inputs, **kwargs)
    assert got[0].shape == expected[0].shape
    assert all(torch.allclose(g, e, atol=1e-5) for g, e in zip(got, expected))


def test_kimi_delta_rule_gives_transformers_outputs_and_state() -> None:
    import torch
    from transformers.models.kimi_linear.modeling_kimi_linear import chunk_kimi_delta_attention

    inputs = delta_inputs(64, 2, 2, per_dim_decay=True, strength=2.0)
    kwargs = {"output_final_state": True, "use_qk_l2norm_in_kernel": True}
    expected = chunk_kimi_delta_attention(**inputs, **kwargs)
    got = hybrid.kimi_delta_rule(**inputs, **kwargs)
    assert all(torch.allclose(g, e, atol=1e-5) for g, e in zip(got, expected))


@pytest.mark.parametrize("initial", [False, True])
def test_linear_rnn_scan_gives_recurrent_gemmas_states_across_resets(initial: bool) -> None:
    """Rows reset at different positions (left padding puts position 0 later), sequences longer
    than one chunk."""
    import torch
    from transformers.models.recurrent_gemma.modeling_recurrent_gemma import RecurrentGemmaRglru

    gen = torch.Generator().manual_seed(0)
    x, a = torch.randn(3, 37, 8, generator=gen), torch.rand(3, 37, 8, generator=gen)
    positions = torch.arange(37)[None] - torch.tensor([[0], [2], [20]])
    reset = (positions == 0)[:, :, None]
    state = torch.randn(3, 8, generator=gen) if initial else None
    expected = RecurrentGemmaRglru._rnn_scan(None, x, a, reset, state)
    got = hybrid.linear_rnn_scan(None, x, a, reset, state)
    assert all(torch.allclose(g, e, atol=1e-5) for g, e in zip(got, expected))


def test_a_gated_deltanet_decoder_is_bounded_and_patched_only_while_exported() -> None:
    import sys

    import torch
    from transformers import AutoConfig

    from shapeprof.onnx.tasks import auto_class

    torch.manual_seed(0)
    model = auto_class("text-generation", "qwen3_5_text").from_config(
        AutoConfig.for_model("qwen3_5_text", **TINY_GDN)).eval()
    cls = derive_onnx_config(model, "text-generation-with-past")
    assert cls.SUPPORTED_TASKS == ("text-generation",)   # no flat key/value cache: no past
    assert cls.DERIVATION["scan"] == ("torch_chunk_gated_delta_rule exported with loops of fixed count: "
                                      "sequence_length at most 256")
    cfg = cls(model.config, task="text-generation")
    assert cfg.axis_bounds()["sequence_length"] == (1, hybrid.SCAN_LENGTH)
    module = sys.modules[type(model).__module__]
    original = module.torch_chunk_gated_delta_rule
    with cfg.patch_model_for_export(model):
        assert module.torch_chunk_gated_delta_rule is hybrid.gated_delta_rule
    assert module.torch_chunk_gated_delta_rule is original
    assert hybrid.scan_functions(auto_class("text-generation", "llama").from_config(
        AutoConfig.for_model("llama", vocab_size=128, hidden_size=32, num_hidden_layers=1,
                             num_attention_heads=4, intermediate_size=37))) == []


def test_chunked_selective_scan_gives_mambas_outputs_and_state() -> None:
    import torch
    from transformers.models.mamba.modeling_mamba import mamba_selective_scan

    gen = torch.Generator().manual_seed(0)
    batch, channels, length, state = 2, 8, 37, 4
    inputs = {"hidden_states": torch.randn(batch, channels, length, generator=gen),
              "dt": torch.randn(batch, channels, length, generator=gen),
              "A": -3 * torch.rand(channels, state, generator=gen),
              "B": torch.randn(batch, state, length, generator=gen),
              "C": torch.randn(batch, state, length, generator=gen),
              "D": torch.randn(channels, generator=gen), "z": torch.randn(batch, channels, length, generator=gen),
              "delta_bias": torch.randn(channels, generator=gen)}
    expected = mamba_selective_scan(**inputs, delta_softplus=True, return_last_state=True)
    got = hybrid.chunked_selective_scan(**inputs, delta_softplus=True, return_last_state=True)
    assert all(torch.allclose(g, e, atol=1e-5) for g, e in zip(got, expected))


def test_parallel_wkv_gives_rwkvs_token_loop_outputs() -> None:
    import torch
    from transformers.models.rwkv.modeling_rwkv import rwkv_linear_attention, rwkv_linear_attention_cpu

    gen = torch.Generator().manual_seed(0)
    decay, first = torch.randn(8, generator=gen), torch.randn(8, generator=gen)
    key, value = 3 * torch.randn(2, 37, 8, generator=gen), torch.randn(2, 37, 8, generator=gen)
    expected, _ = rwkv_linear_attention_cpu(decay, first, key, value)
    got, state = hybrid.parallel_wkv(rwkv_linear_attention)(decay, first, key, value)
    assert state is None and torch.allclose(got, expected, atol=1e-5)


def test_lightning_attention_on_whole_blocks_gives_minimaxs_logits() -> None:
    """MiniMax's lightning attention on inputs padded to whole blocks, with a left-padded row and a
    sequence over one block: the model's logits unchanged."""
    import torch
    from transformers import AutoConfig

    from shapeprof.onnx.tasks import auto_class

    torch.manual_seed(0)
    config = AutoConfig.for_model("minimax", vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                  num_key_value_heads=2, head_dim=8, intermediate_size=32, num_local_experts=2,
                                  block_size=16, layer_types=["linear_attention", "full_attention"])
    model = auto_class("text-generation", "minimax").from_config(config).eval()
    assert hybrid.scan_functions(model) == ["MiniMaxLightningAttention.forward"]
    ids = torch.randint(3, 128, (2, 21))
    mask = torch.ones_like(ids)
    mask[0, :3] = 0
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
        with hybrid.fixed_length_scans(model):
            got = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
    assert torch.allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("initial", [False, True])
def test_padded_chunk_scan_gives_mamba2s_outputs_and_state(initial: bool) -> None:
    import torch
    from transformers.models.falcon_h1.modeling_falcon_h1 import mamba2_chunk_scan

    gen = torch.Generator().manual_seed(0)
    batch, length, heads, size, groups, state = 2, 37, 4, 8, 2, 4
    args = (torch.randn(batch, length, heads, size, generator=gen), torch.randn(batch, length, heads, generator=gen),
            -3 * torch.rand(heads, generator=gen), torch.randn(batch, length, groups, state, generator=gen),
            torch.randn(batch, length, groups, state, generator=gen))
    kwargs = {"chunk_size": 16, "D": torch.randn(heads, generator=gen), "dt_bias": torch.randn(heads, generator=gen),
              "dt_softplus": True, "return_final_states": True,
              "initial_states": torch.randn(batch, heads, size, state, generator=gen) if initial else None}
    expected = mamba2_chunk_scan(*args, **kwargs)
    got = hybrid.padded_chunk_scan(mamba2_chunk_scan)(*args, **kwargs)
    assert all(torch.allclose(g, e, atol=1e-5) for g, e in zip(got, expected))
