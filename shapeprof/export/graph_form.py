"""Shape the exported graph the way onnxruntime optimises best.

A plain dynamo export of a transformers-5 encoder is 1.2-1.6x slower in
onnxruntime than Optimum's TorchScript export, and onnxruntime's transformer
optimizer fuses no Attention node in it. Three causes, three fixes:

1. transformers 5 builds a boolean (B, 1, S, S) mask (arange, GatherND, And) and
   SDPA lowers to Where/IsNaN guards in every layer. We hand the model a ready
   additive (B, 1, 1, S) mask, which transformers passes through untouched, and
   run attention as ``softmax(q @ k^T / sqrt(d) + mask) @ v``: the pattern
   onnxruntime's attention fusion recognises.
2. onnxscript merges ``Unsqueeze(Unsqueeze(m, [1]), [2])`` into one Unsqueeze
   with two axes, which the fusion's mask matcher rejects; we split it back.
3. onnxscript's optimizer (0.7) removes ``x + c`` and ``x - c`` when ``|c| <= 1e-8``, taking
   ``c`` for 0: an RMSNorm epsilon of 1e-8 (Helium) vanishes, and a row of zeros (the padding
   token's embedding) then divides by zero. Such scalars are given shape (1,) before the
   optimizer runs, which its no-op rules do not match (same values, same broadcast).
4. The exporter annotates every intermediate with its shape; onnxruntime then
   fuses residual Add + LayerNormalization into SkipLayerNormalization, whose CPU
   kernel is about 4x slower than the pair. We drop those annotations (inputs and
   outputs keep theirs; onnxruntime re-infers the rest).

Measured on all-MiniLM-L6-v2: ``benchmarks/export_vs_optimum.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

ATTENTION_KEY = "shapeprof_fusable"


def additive_mask(mask: Any, dtype: Any) -> Any:
    """(B, S) 0/1 mask -> (B, 1, 1, S) additive mask: 0 where attended, dtype's min elsewhere."""
    import torch

    expanded = mask.unsqueeze(1).unsqueeze(2).to(dtype)
    return (1.0 - expanded) * torch.finfo(dtype).min


def fusable_attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any,
                      scaling: float | None = None, dropout: float = 0.0, **_: Any) -> tuple[Any, Any]:
    """Eager attention with a Div for the scaling, as onnxruntime's fusion expects.

    transformers 5 multiplies by ``scaling``; with the mask's own Mul the Add before
    Softmax then has two Mul parents and the matcher picks the wrong one.
    """
    import torch

    scaling = query.size(-1) ** -0.5 if scaling is None else scaling
    scores = torch.matmul(query, key.transpose(2, 3)) / (1.0 / scaling)
    if attention_mask is not None:
        scores = scores + attention_mask
    probs = torch.softmax(scores, dim=-1)
    return torch.matmul(probs, value).transpose(1, 2).contiguous(), probs


@contextlib.contextmanager
def config_setting(model: Any, attribute: str, value: Any) -> Iterator[Any]:
    """Run ``model`` with ``attribute`` set to ``value`` on every (sub-)config that has it;
    restore the old values on exit."""
    configs = {id(m.config): m.config for m in model.modules() if hasattr(m, "config")}.values()
    saved = [(c, getattr(c, attribute)) for c in configs if hasattr(c, attribute)]
    try:
        for config, _ in saved:
            setattr(config, attribute, value)
        yield model
    finally:
        for config, old in saved:
            setattr(config, attribute, old)


def attention_implementation(model: Any, name: str) -> contextlib.AbstractContextManager[Any]:
    """Run ``model`` (every sub-config) with attention implementation ``name``; restore on exit."""
    return config_setting(model, "_attn_implementation", name)


@contextlib.contextmanager
def attention_for_export(model: Any) -> Iterator[Any]:
    """Run ``model`` with :func:`fusable_attention`; restore its implementation on exit."""
    from transformers import AttentionInterface

    registered = ATTENTION_KEY in AttentionInterface._global_mapping
    AttentionInterface.register(ATTENTION_KEY, fusable_attention)
    try:
        with attention_implementation(model, ATTENTION_KEY):
            yield model
    finally:
        if not registered:
            AttentionInterface._global_mapping.pop(ATTENTION_KEY, None)


def split_multi_axis_unsqueeze(model: Any) -> int:
    """Rewrite ``Unsqueeze(x, [a, b])`` as two single-axis Unsqueezes in an onnx_ir model.

    Returns the number of nodes split.
    """
    import onnx_ir as ir

    graph, count = model.graph, 0
    for node in list(graph):
        axes = _constant_axes(node)
        if axes is None or len(axes) < 2 or min(axes) < 0:
            continue
        old_axes, current = node.inputs[1], node.inputs[0]
        for i, axis in enumerate(axes[:-1]):
            step = ir.node("Unsqueeze", inputs=[current, _axes_value(graph, f"{node.name}_axis{i}", axis)],
                           name=f"{node.name}_split{i}")
            graph.insert_before(node, step)
            current = step.outputs[0]
        node.replace_input_with(0, current)
        node.replace_input_with(1, _axes_value(graph, f"{node.name}_axis_last", axes[-1]))
        if not old_axes.uses() and old_axes.name in graph.initializers and not old_axes.is_graph_output():
            del graph.initializers[old_axes.name]
        count += 1
    return count


def _constant_axes(node: Any) -> list[int] | None:
    if node.op_type != "Unsqueeze" or node.domain not in ("", "ai.onnx") or len(node.inputs) < 2:
        return None
    axes = node.inputs[1]
    if axes is None or axes.const_value is None:
        return None
    return sorted(int(a) for a in axes.const_value.numpy().reshape(-1))


def _axes_value(graph: Any, name: str, axis: int) -> Any:
    import numpy as np
    import onnx_ir as ir

    value = ir.Value(name=name, const_value=ir.tensor(np.array([axis], dtype=np.int64)),
                     shape=ir.Shape([1]), type=ir.TensorType(ir.DataType.INT64))
    graph.register_initializer(value)
    return value


NEAR_ZERO = 1e-8   # onnxscript's no-op rules treat |c| <= this as 0


def keep_small_constants(model: Any) -> int:
    """Reshape nonzero scalar operands of Add/Sub with ``|c| <= NEAR_ZERO`` to shape (1,) in an
    onnx_ir model, so the optimizer keeps them (point 3 above). Returns the number rewritten."""
    import numpy as np
    import onnx_ir as ir

    kept: dict[int, Any] = {}   # one reshaped initializer per original value
    count = 0
    for node in list(model.graph):
        if node.op_type not in ("Add", "Sub") or node.domain not in ("", "ai.onnx"):
            continue
        for index, value in enumerate(node.inputs):
            tensor = ir.convenience.get_const_tensor(value) if value is not None else None
            if tensor is None or tensor.shape.dims != () or not _near_zero(tensor.numpy()):
                continue
            if id(value) not in kept:
                kept[id(value)] = ir.Value(name=f"{value.name}_kept{len(kept)}", shape=ir.Shape([1]),
                                           const_value=ir.tensor(np.asarray(tensor.numpy()).reshape(1)),
                                           type=ir.TensorType(tensor.dtype))
                model.graph.register_initializer(kept[id(value)])
            node.replace_input_with(index, kept[id(value)])
            count += 1
    return count


def _near_zero(array: Any) -> bool:
    return array.dtype.kind == "f" and array.item() != 0 and abs(array.item()) <= NEAR_ZERO


def strip_value_info(proto: Any) -> None:
    """Drop intermediate shape annotations; graph inputs and outputs keep theirs."""
    del proto.graph.value_info[:]
