"""A fixed transformer encoder graph, the reference workload's body: BERT's layer as torch.onnx
exports it (opset 20), with seeded weights and fixed shapes.

A reference tracks the machine's state only as far as it runs the same kernels as the cells it
normalises: a chain of large float32 GEMMs drifted unlike a transformer's cells, while another
BERT graph in its own session drifted like them (README, CI section). Weights are seeded normal
draws scaled by 1/sqrt(fan-in), so activations stay in range and no denormals appear.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BATCH, LENGTH, HIDDEN, HEADS, FFN, LAYERS = 8, 32, 384, 12, 1536, 6
OPSET = 20
SHAPE = f"{LAYERS} BERT layers (hidden {HIDDEN}, {HEADS} heads, FFN {FFN}) at batch {BATCH} x {LENGTH}"


class _Graph:
    """Nodes and seeded initializers as they are added."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)
        self.nodes: list[Any] = []
        self.inits: list[Any] = []

    def const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def weight(self, name: str, shape: tuple[int, ...], scale: float | None = None) -> str:
        scale = 1.0 / np.sqrt(shape[0]) if scale is None else scale
        return self.const(name, (self.rng.standard_normal(shape) * scale).astype(np.float32))

    def op(self, op: str, inputs: list[str], **attrs: Any) -> str:
        from onnx import helper

        out = f"{op.lower()}{len(self.nodes)}"
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out


def _linear(g: _Graph, x: str, name: str, fan_in: int, fan_out: int) -> str:
    y = g.op("MatMul", [x, g.weight(f"{name}.w", (fan_in, fan_out))])
    return g.op("Add", [y, g.weight(f"{name}.b", (fan_out,), 0.02)])


def _attention(g: _Graph, x: str, p: str) -> str:
    heads = []
    for part, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
        h = g.op("Reshape", [_linear(g, x, p + part, HIDDEN, HIDDEN), "split_heads"])
        heads.append(g.op("Transpose", [h], perm=perm))
    scores = g.op("Add", [g.op("Div", [g.op("MatMul", heads[:2]), "head_scale"]), "mask"])
    context = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), heads[2]])
    merged = g.op("Reshape", [g.op("Transpose", [context], perm=[0, 2, 1, 3]), "merge_heads"])
    return _linear(g, merged, p + "o", HIDDEN, HIDDEN)


def _norm(g: _Graph, x: str, p: str) -> str:
    return g.op("LayerNormalization", [x, g.const(p + ".g", np.ones(HIDDEN, np.float32)),
                                       g.const(p + ".b", np.zeros(HIDDEN, np.float32))], axis=-1, epsilon=1e-12)


def _layer(g: _Graph, x: str, i: int) -> str:
    p = f"l{i}."
    x = _norm(g, g.op("Add", [_attention(g, x, p), x]), p + "ln1")
    ffn = _linear(g, g.op("Gelu", [_linear(g, x, p + "ffn1", HIDDEN, FFN)]), p + "ffn2", FFN, HIDDEN)
    return _norm(g, g.op("Add", [ffn, x]), p + "ln2")


def encoder_model() -> bytes:
    """The serialised encoder: input ``x`` [BATCH, LENGTH, HIDDEN] float32, output the same."""
    from onnx import TensorProto, helper

    g = _Graph()
    head = HIDDEN // HEADS
    g.const("split_heads", np.array([BATCH, LENGTH, HEADS, head], np.int64))
    g.const("merge_heads", np.array([BATCH, LENGTH, HIDDEN], np.int64))
    g.const("head_scale", np.array(np.sqrt(head), np.float32))
    g.const("mask", np.zeros((BATCH, 1, 1, LENGTH), np.float32))
    x = "x"
    for i in range(LAYERS):
        x = _layer(g, x, i)
    shape = [BATCH, LENGTH, HIDDEN]
    graph = helper.make_graph(g.nodes, "shapeprof-reference-encoder",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, shape)], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 10
    return model.SerializeToString()


def encoder_input() -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(1).standard_normal((BATCH, LENGTH, HIDDEN)).astype(np.float32)}
