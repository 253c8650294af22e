"""Export fixes for image-text-to-text models: bucketize as a count, no-op Squeeze dropped, the
census's fallback to feature-extraction and its tiny tile grids."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("right", [False, True])
def test_bucketize_by_count_is_torch_bucketize(right: bool) -> None:
    import torch

    from shapeprof.onnx.derive.vlm_patches import bucketize_by_count

    boundaries = torch.tensor([0.2, 0.4, 0.4, 0.8])
    values = torch.tensor([[0.0, 0.2, 0.3], [0.4, 0.79, 0.9999]])
    expected = torch.bucketize(values, boundaries, right=right, out_int32=True)
    got = bucketize_by_count(values, boundaries, right=right, out_int32=True)
    assert got.dtype == torch.int32 and torch.equal(got, expected)


def test_squeeze_of_a_static_non_unit_dimension_becomes_identity() -> None:
    import onnx_ir as ir
    import onnxruntime as ort

    from shapeprof.export.torch_fixes import drop_noop_squeezes

    x = ir.Value(name="x", shape=ir.Shape([4, 3]), type=ir.TensorType(ir.DataType.FLOAT))
    axes = ir.Value(name="axes", shape=ir.Shape([1]), type=ir.TensorType(ir.DataType.INT64),
                    const_value=ir.tensor(np.array([0], dtype=np.int64)))
    keep = ir.Value(name="k", shape=ir.Shape([1, 3]), type=ir.TensorType(ir.DataType.FLOAT))
    bad = ir.Node("", "Squeeze", [x, axes], num_outputs=1)
    good = ir.Node("", "Squeeze", [keep, axes], num_outputs=1)
    bad.outputs[0].name, good.outputs[0].name = "y", "z"
    graph = ir.Graph([x, keep], [bad.outputs[0], good.outputs[0]], nodes=[bad, good], initializers=[axes],
                     opset_imports={"": 18})
    model = ir.Model(graph, ir_version=9)
    assert drop_noop_squeezes(model) == 1
    assert [n.op_type for n in model.graph] == ["Identity", "Squeeze"]
    session = ort.InferenceSession(ir.serde.serialize_model(model).SerializeToString())
    y, z = session.run(None, {"x": np.ones((4, 3), np.float32), "k": np.ones((1, 3), np.float32)})
    assert y.shape == (4, 3) and z.shape == (3,)


def test_a_task_level_refusal_is_followed_by_feature_extraction(census) -> None:
    refused = {"status": "refused", "reason": "config error: cannot derive ...", "refused_part": "task"}
    assert census.task_refused(refused)
    assert census.task_refused({"status": "refused", "error_type": "ConfigError", "reason":
                                "config error: transformers has no 'text-generation-with-past' head for 'x_text'"})
    assert not census.task_refused({**refused, "refused_part": "vision tower"})
    assert not census.task_refused({**refused, "status": "mismatch"})
    records = [{"model_type": "got_ocr2", "status": "derived", "modality": "text+image", "task": "feature-extraction",
                "main_task": "text-generation-with-past", "main_task_refused": "only feature-extraction ..."},
               {"model_type": "mllama", "status": "refused", "modality": "image", "task": "feature-extraction",
                "main_task": "text-generation-with-past", "reason": "vision tower: ..."}]
    text = census.markdown(records)
    assert "got_ocr2†" in text and "† verified on feature-extraction" in text
    assert "feature-extraction (main task text-generation-with-past refused)" in text


def test_tile_grids_are_rescaled_to_the_shrunk_tile_size(census) -> None:
    from transformers import LlavaNextConfig

    config = LlavaNextConfig(vision_config={"model_type": "clip_vision_model", "image_size": 224})
    assert census.tile_pinpoints(config)[:2] == [[224, 448], [448, 224]]
    assert census.tile_pinpoints(LlavaNextConfig(image_grid_pinpoints=[[672, 336]])) is None


def test_media_ids_move_inside_the_default_text_vocabulary(census) -> None:
    from transformers import Idefics3Config

    kwargs = census.shrink_kwargs(Idefics3Config())
    vocab = Idefics3Config().text_config.vocab_size
    assert kwargs["image_token_id"] < vocab


def test_pixel_shuffle_gets_an_image_size_its_scale_divides(census) -> None:
    from transformers import Idefics3Config

    config = Idefics3Config(scale_factor=2, vision_config={"image_size": 224, "patch_size": 32})
    assert census.shuffled_image_size(config) == 192          # 6 patches per side, merged 2 x 2
    assert census.shuffled_image_size(Idefics3Config(scale_factor=2, vision_config={
        "image_size": 256, "patch_size": 32})) is None


def test_vision_settings_follow_the_shrunk_tower(census) -> None:
    from transformers import Gemma3Config, VipLlavaConfig

    vip = VipLlavaConfig(vision_config={"model_type": "clip_vision_model", "num_hidden_layers": 2})
    assert census.vision_consistency(vip) == {"vision_feature_layer": [-2, -3, -3, -3, 2]}
    gemma = Gemma3Config(vision_config={"image_size": 224, "patch_size": 16}, mm_tokens_per_image=256)
    assert census.vision_consistency(gemma) == {"mm_tokens_per_image": 196}
