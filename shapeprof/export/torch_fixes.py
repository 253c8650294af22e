"""Workarounds for torch.onnx bugs, applied only when the plain conversion hit them.

- ``number - integer tensor`` (``1.0 - attention_mask`` in XLNet, ProphetNet, ...): torch 2.13's
  type-promotion pass finds no ``aten.sub`` overload for a Python number first
  (pytorch/pytorch#194381, a regression). The graph is traced and decomposed as torch.onnx does it,
  each ``aten.sub.Tensor(number, tensor)`` is rewritten as ``aten.add.Tensor(-tensor, number)``
  (the same value and dtype), and torch.onnx converts the rewritten program.
- ``tensor.squeeze(0)`` on a dimension that is not 1 (Mistral 3's image features): a no-op in
  torch, but torch.onnx emits ``Squeeze`` on it, which onnxruntime refuses to load. Each
  ``Squeeze`` whose axes are all static dimensions other than 1 becomes an ``Identity``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


def is_scalar_first_sub(error: BaseException) -> bool:
    """Whether ``error`` (or its cause) is torch.onnx's failure on ``number - tensor``."""
    current: BaseException | None = error
    while current is not None:
        if "compatible OpOverload for aten.sub" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def add_for_scalar_first_sub(graph: Any) -> int:
    """Rewrite every ``aten.sub.Tensor(number, tensor, alpha=a)`` of an FX graph as
    ``aten.add.Tensor(tensor * -a, number)``; returns how many."""
    import torch

    aten = torch.ops.aten
    count = 0
    for node in list(graph.nodes):
        if not (node.op == "call_function" and node.target is aten.sub.Tensor
                and isinstance(node.args[0], (int, float)) and isinstance(node.args[1], torch.fx.Node)):
            continue
        number, tensor = node.args[0], node.args[1]
        alpha = node.kwargs.get("alpha", node.args[2] if len(node.args) > 2 else 1)
        with graph.inserting_before(node):
            negated = (graph.call_function(aten.neg.default, (tensor,)) if alpha == 1
                       else graph.call_function(aten.mul.Tensor, (tensor, -alpha)))
            negated.meta = {**tensor.meta}
        node.target, node.args, node.kwargs = aten.add.Tensor, (negated, number), {}
        count += 1
    return count


def exported_without_scalar_first_sub(module: torch.nn.Module, args: tuple[Any, ...],
                                      dynamic_shapes: Any) -> Any:
    """``module`` traced and decomposed as torch.onnx does it (non-strict, size-oblivious, its
    decomposition table), with ``number - tensor`` rewritten."""
    import torch
    from torch.onnx import _flags
    from torch.onnx._internal.exporter import _fx_passes, _registration

    with torch.fx.experimental._config.patch(backed_size_oblivious=True):
        program = torch.export.export(module, args, dynamic_shapes=dynamic_shapes, strict=False,
                                      prefer_deferred_runtime_asserts_over_guards=(
                                          _flags.PREFER_DEFERRED_RUNTIME_ASSERTS_OVER_GUARDS))
        program = _fx_passes.decompose_with_registry(program, _registration.ONNXRegistry.from_torchlib())
    if add_for_scalar_first_sub(program.graph_module.graph):
        program.graph_module.recompile()
    return program


def drop_noop_squeezes(model: Any) -> int:
    """Replace by ``Identity`` every ``Squeeze`` of an onnx_ir model whose constant axes all point
    at static dimensions other than 1 (torch leaves such a tensor as it is); returns how many."""
    import onnx_ir as ir

    count = 0
    for node in list(model.graph):
        if node.op_type != "Squeeze" or node.domain not in ("", "ai.onnx") or len(node.inputs) != 2:
            continue
        data, axes = node.inputs
        shape = data.shape if data is not None else None
        const = ir.convenience.get_const_tensor(axes) if axes is not None else None
        if shape is None or const is None:
            continue
        dims = [shape[int(a)] for a in const.numpy().reshape(-1)] if shape.rank() else []
        if not dims or not all(isinstance(d, int) and d != 1 for d in dims):
            continue
        identity = ir.Node("", "Identity", [data], num_outputs=1)
        ir.convenience.replace_nodes_and_values(model.graph, node, [node], [identity], node.outputs,
                                                identity.outputs)
        count += 1
    return count
