"""Image-text-to-text derivation: dummy inputs hold exactly the probed placeholders, and the
models it cannot serve are refused in one line naming the part."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from shapeprof.onnx.derive import DeriveError, derive_onnx_config
from shapeprof.onnx.derive.vlm import ImageTextToTextOnnxConfig

TEXT = {"vocab_size": 128, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "intermediate_size": 37, "max_position_embeddings": 128}
VISION = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37}


def config(model_type: str, **kwargs: Any) -> Any:
    from transformers import AutoConfig

    return AutoConfig.for_model(model_type, **kwargs)


def build(cfg: Any) -> Any:
    from transformers import AutoModel

    return AutoModel.from_config(cfg).eval()


def aya(**kwargs: Any) -> Any:
    return config("aya_vision", **{"image_token_index": 100, "downsample_factor": 2,
                                   "text_config": {"model_type": "cohere2", **TEXT},
                                   "vision_config": {"model_type": "siglip_vision_model", **VISION, "image_size": 32,
                                                     "patch_size": 8}, **kwargs})


def test_dummy_inputs_hold_one_image_of_placeholders_per_row() -> None:
    cfg = aya()
    cls = derive_onnx_config(cfg, "feature-extraction")
    assert issubclass(cls, ImageTextToTextOnnxConfig) and cls.DERIVATION["image_tokens"] == 4
    onnx_cfg = cls(cfg, task="feature-extraction")
    assert onnx_cfg.axis_bounds()["sequence_length"] == (6, 128)
    dummy = onnx_cfg.generate_dummy_inputs("np", batch_size=3, sequence_length=12)
    ids, mask = dummy["input_ids"], dummy["attention_mask"]
    assert ((ids == 100).sum(axis=1) == 4).all() and ids.max() < 128
    assert set(mask.ravel()) == {0, 1} and mask[:, :6].all()      # padding never hides a placeholder
    assert dummy["pixel_values"].shape == (3, 3, 32, 32)


@pytest.mark.parametrize("model_type, task, part", [
    ("aya_vision", "text-generation-with-past", "task: only feature-extraction"),
    ("aya_out_of_vocabulary", "feature-extraction", "inputs: the image placeholder token image_token_index=500"),
])   # grid models (qwen2_vl, ...) are derived: tests/unit/test_derive_grid_vlm.py
def test_refusals_name_the_part(model_type: str, task: str, part: str) -> None:
    cfg = aya(**({"image_token_index": 500} if model_type != "aya_vision" else {}))
    with pytest.raises(DeriveError, match=part + ".*register a class"):
        derive_onnx_config(build(cfg) if "generation" in task else cfg, task)


def test_reserved_ids_stay_out_of_the_text() -> None:
    cfg = aya(boi_token_id=5)
    onnx_cfg = derive_onnx_config(cfg, "feature-extraction")(cfg, task="feature-extraction")
    ids = onnx_cfg.generate_dummy_inputs("np", batch_size=4, sequence_length=64)["input_ids"]
    assert not np.isin(ids, [5]).any()


def test_a_graph_onnxruntime_rejects_fails_verification_in_one_line(tmp_path: Any) -> None:
    """mistral3's graph failed to load in onnxruntime: a VerificationError (census: mismatch), not a crash."""
    from shapeprof.errors import VerificationError
    from shapeprof.export.plan import ExportPlan
    from shapeprof.export.verify import verify_export

    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not an onnx graph")
    with pytest.raises(VerificationError, match="onnxruntime cannot load the exported graph"):
        verify_export(None, ImageTextToTextOnnxConfig, bad, ExportPlan({}, {}, []), 1e-4, 1e-3)
