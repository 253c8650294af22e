"""Derivation of video models, the torch.onnx workaround for ``number - int tensor``, decoders whose
``generate`` feeds extra inputs, and generation parity without a checkpoint's forced EOS."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from shapeprof.onnx.derive import DeriveError, derive_onnx_config
from shapeprof.onnx.video import VideoOnnxConfig

TINY_VIDEO = {"image_size": 32, "patch_size": 8, "num_frames": 4, "tubelet_size": 2, "hidden_size": 32,
              "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37}


def video_config() -> Any:
    from transformers import AutoConfig

    return AutoConfig.for_model("videomae", **TINY_VIDEO)


def test_video_models_take_five_dimensional_pixels_with_static_frames_and_sides() -> None:
    cls = derive_onnx_config(video_config(), "feature-extraction")
    assert issubclass(cls, VideoOnnxConfig) and cls.DERIVATION["family"] == "VideoOnnxConfig"
    cfg = cls(video_config(), task="feature-extraction")
    assert cfg.inputs == {"pixel_values": {0: "batch_size", 1: "num_frames", 3: "height", 4: "width"}}
    assert cfg.axis_bounds() == {"batch_size": (1, None), "num_frames": (4, 4), "height": (32, 32),
                                 "width": (32, 32)}
    assert cfg.generate_dummy_inputs("np", batch_size=3)["pixel_values"].shape == (3, 4, 3, 32, 32)
    assert cfg.outputs["last_hidden_state"] == {0: "batch_size"}     # tokens: static (frames x patches)


def test_a_decoder_whose_generate_feeds_extra_inputs_is_refused() -> None:
    from transformers import AutoConfig

    config = AutoConfig.for_model("xlnet", vocab_size=128, d_model=32, n_layer=2, n_head=4, d_inner=37)
    with pytest.raises(DeriveError, match="generation: generate feeds the model .*perm_mask, target_mapping"):
        derive_onnx_config(config, "text-generation-with-past")


def test_number_minus_int_tensor_converts_after_the_rewrite(tmp_path: Path) -> None:
    import onnxruntime as ort
    import torch

    from shapeprof.export.torch_fixes import exported_without_scalar_first_sub, is_scalar_first_sub

    class Masked(torch.nn.Module):
        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            return (1.0 - mask) * x

    args = (torch.randn(2, 3), torch.tensor([[1, 1, 0], [1, 0, 0]]))
    program = exported_without_scalar_first_sub(Masked(), args, None)
    onnx_program = torch.onnx.export(program, args, dynamo=True, input_names=["x", "mask"])
    onnx_program.save(str(tmp_path / "m.onnx"))
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": args[0].numpy(), "mask": args[1].numpy()})[0]
    np.testing.assert_allclose(got, Masked()(*args).numpy(), rtol=0, atol=0)
    assert is_scalar_first_sub(RuntimeError("x")) is False
    wrapped = RuntimeError("outer")
    wrapped.__cause__ = RuntimeError("Cannot find a compatible OpOverload for aten.sub with the provided arguments")
    assert is_scalar_first_sub(wrapped)


def test_forced_eos_is_off_while_generating_and_restored() -> None:
    from shapeprof.export.generation.seq2seq import no_forced_eos

    model = SimpleNamespace(generation_config=SimpleNamespace(forced_eos_token_id=2))
    with no_forced_eos(model):
        assert model.generation_config.forced_eos_token_id is None
    assert model.generation_config.forced_eos_token_id == 2
