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
