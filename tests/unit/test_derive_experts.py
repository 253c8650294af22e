"""Mixtures of experts outside the decoder family: traced with batched experts (derive/experts.py)."""

from __future__ import annotations

from shapeprof.export.convert import convert, save_program
from shapeprof.export.plan import plan_export
from shapeprof.export.verify import verify_export
from shapeprof.onnx.derive import families
from shapeprof.onnx.derive.experts import with_exportable_experts
from shapeprof.testing.tiny import tiny_model


def tiny_moe_base_model():
    from transformers import AutoConfig, AutoModel

    moe = AutoConfig.for_model("olmoe", vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                               num_key_value_heads=2, intermediate_size=32, num_experts=4, num_experts_per_tok=2)
    return AutoModel.from_config(moe).eval()


def test_experts_of_a_non_decoder_family_export_and_verify(tmp_path) -> None:
    model = tiny_moe_base_model()   # its default, grouped_mm, has no ONNX function
    plain = families.Encoder.derive(model, "feature-extraction")
    cls = with_exportable_experts(model, plain)
    assert issubclass(cls, plain) and cls.__name__ == plain.__name__
    assert cls.DERIVATION["experts_implementation"] == "batched_mm"
    cfg = cls(model.config, task="feature-extraction")
    assert cfg.export_settings()["_experts_implementation"] == "batched_mm"
    plan = plan_export(cfg)
    save_program(convert(model, cfg, plan, cfg.DEFAULT_ONNX_OPSET), tmp_path / "model.onnx")
    assert model.config._experts_implementation == "grouped_mm"   # restored after tracing
    report = verify_export(model, cfg, tmp_path / "model.onnx", plan, cfg.ATOL_FOR_VALIDATION,
                           cfg.RTOL_FOR_VALIDATION)
    assert report.passed and len(report.checks) >= 3


def test_models_without_experts_and_decoders_that_chose_keep_their_class() -> None:
    bert = tiny_model("bert")
    plain = families.Encoder.derive(bert, "feature-extraction")
    assert with_exportable_experts(bert, plain) is plain
    moe = tiny_moe_base_model()
    decoder = families.Decoder.derive(moe, "feature-extraction")
    assert decoder.EXPERTS_IMPLEMENTATION == "batched_mm"
    assert with_exportable_experts(moe, decoder) is decoder


def test_experts_looping_over_routed_experts_are_refused_in_one_line() -> None:
    import pytest
    from transformers import AutoConfig

    from shapeprof.onnx.derive import DeriveError, derive_onnx_config

    switch = AutoConfig.for_model("switch_transformers", vocab_size=128, d_model=32, d_kv=8, d_ff=32, num_layers=2,
                                  num_decoder_layers=2, num_heads=4, num_experts=4, encoder_sparse_step=1,
                                  decoder_sparse_step=1)
    with pytest.raises(DeriveError) as error:
        derive_onnx_config(switch, "text2text-generation-with-past")
    message = str(error.value)
    assert "experts: SwitchTransformersExperts.forward loops over the experts" in message
    assert "\n" not in message and "register a class for it" in message


def test_encoder_decoders_reading_encoder_output_fields_export_with_past(tmp_path) -> None:
    """NLLB-MoE's decoder step reads encoder_outputs.last_hidden_state and .router_logits (dense
    layers only: sparse_step past the layers); the cache is probed with the encoder run first."""
    from transformers import AutoConfig

    from shapeprof.export import export

    nllb = AutoConfig.for_model("nllb-moe", vocab_size=128, d_model=32, encoder_layers=2, decoder_layers=2,
                                encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=32,
                                decoder_ffn_dim=32, num_experts=4, encoder_sparse_step=4, decoder_sparse_step=4,
                                max_position_embeddings=256, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                                decoder_start_token_id=2, init_std=0.2)
    from transformers import AutoModelForSeq2SeqLM
    import torch

    torch.manual_seed(0)
    model = AutoModelForSeq2SeqLM.from_config(nllb).eval()
    result = export(model, tmp_path / "out", task="text2text-generation-with-past")
    assert result.config == "derived" and result.verification.passed
    assert [p.file for p in result.parts] == ["encoder_model.onnx", "decoder_model.onnx"]
