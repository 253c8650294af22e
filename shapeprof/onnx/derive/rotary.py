"""Complex rotary position embeddings, exported as real (cos, sin) pairs.

DeepSeek-V2 and Llama 4 rotate queries and keys by complex multiplication: their rotary
embedding returns ``torch.polar(1, angles)`` and their ``apply_rotary_emb`` views query and key
as complex numbers. ONNX has no complex type (torch.onnx fails on the complex ``unsqueeze``), so
while such a model is exported both are replaced by the same product on real pairs. Only the
traced graph changes: verification compares it with the unpatched model.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
from collections.abc import Iterator
from typing import Any


def complex_rotary(model: Any) -> bool:
    """Whether the model's modeling module rotates by complex multiplication (see module doc)."""
    apply = _apply_function(model)
    return apply is not None and any(_rotary_classes(model))


def _apply_function(model: Any) -> Any:
    module = sys.modules.get(type(model).__module__)
    apply = getattr(module, "apply_rotary_emb", None)
    code = getattr(apply, "__code__", None)
    return apply if code is not None and "view_as_complex" in code.co_names else None


def _rotary_classes(model: Any) -> Iterator[type]:
    seen: set[type] = set()
    for module in model.modules():
        forward = inspect.unwrap(type(module).forward)
        code = getattr(forward, "__code__", None)
        if type(module) not in seen and code is not None and "polar" in code.co_names:
            seen.add(type(module))
            yield type(module)


@contextlib.contextmanager
def real_rotary(model: Any) -> Iterator[None]:
    """Within the block, the model's rotary embeddings are (cos, sin) pairs and its
    ``apply_rotary_emb`` multiplies them as complex numbers; restored on exit."""
    from transformers.modeling_rope_utils import dynamic_rope_update

    apply = _apply_function(model)
    module = sys.modules[type(model).__module__]
    # DeepSeek-V2 broadcasts over heads with unsqueeze(1) (heads before positions), Llama 4 with [:, :, None].
    heads_axis = 1 if "unsqueeze" in apply.__code__.co_names else 2
    saved = [(module, "apply_rotary_emb", apply)] + [(c, "forward", c.forward) for c in _rotary_classes(model)]

    def apply_real(xq: Any, xk: Any, pairs: Any) -> tuple[Any, Any]:
        pairs = pairs.to(xq.device).unsqueeze(heads_axis)
        return _rotate(xq, pairs), _rotate(xk, pairs)

    try:
        module.apply_rotary_emb = apply_real
        for cls, _, _ in saved[1:]:
            cls.forward = dynamic_rope_update(_pairs_forward)
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def _pairs_forward(self: Any, x: Any, position_ids: Any) -> Any:
    """The rotary embedding's forward with (cos, sin) pairs in a last axis instead of ``torch.polar``."""
    import torch

    freqs = position_ids[..., None].float() * self.inv_freq.to(device=x.device, dtype=torch.float)
    return torch.stack((freqs.cos(), freqs.sin()), dim=-1) * self.attention_scaling


def _rotate(x: Any, pairs: Any) -> Any:
    """``x``'s consecutive pairs (a, b) times (cos, sin) as complex numbers, flattened back."""
    import torch

    real = x.float().reshape(*x.shape[:-1], -1, 2)
    a, b = real[..., 0], real[..., 1]
    cos, sin = pairs[..., 0], pairs[..., 1]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2).type_as(x)


@contextlib.contextmanager
def patch_with_real_rotary(self: Any, model: Any) -> Iterator[Any]:
    """``patch_model_for_export`` of a derived decoder with complex rotary embeddings."""
    from ..text import TextDecoderOnnxConfig

    with real_rotary(model), TextDecoderOnnxConfig.patch_model_for_export(self, model):
        yield model
