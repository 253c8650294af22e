"""Graph-form passes on small graphs: epsilons onnxscript's optimizer would take for zero."""

from __future__ import annotations

import numpy as np
import pytest


class RMSNorm:
    """x * rsqrt(mean(x^2) + eps), as Helium, Llama and T5 normalise."""

    @staticmethod
    def module(eps: float) -> object:
        import torch

        class Norm(torch.nn.Module):
            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)

        return Norm()


def exported(eps: float, keep: bool) -> tuple[list[str], np.ndarray]:
    """Op types of the optimized graph and its output on a row of zeros (a padding embedding)."""
    import onnxruntime as ort
    import torch

    from shapeprof.export.graph_form import keep_small_constants

    with torch.no_grad():
        program = torch.onnx.export(RMSNorm.module(eps), (torch.randn(2, 4),), dynamo=True, optimize=False,
                                    verbose=False, report=False)
    if keep:
        assert keep_small_constants(program.model) == 1
    program.optimize()
    proto = program.model_proto
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.zeros((2, 4), dtype=np.float32)
    x[0] = 1.0
    return [n.op_type for n in proto.graph.node], session.run(None, {session.get_inputs()[0].name: x})[0]


@pytest.mark.parametrize("eps", [1e-8, 1e-12])
def test_epsilons_the_optimizer_takes_for_zero_are_kept(eps: float) -> None:
    ops, out = exported(eps, keep=False)
    assert "Add" not in ops and np.isnan(out[1]).all()      # onnxscript drops the Add: 0 / 0
    ops, out = exported(eps, keep=True)
    assert "Add" in ops and np.isfinite(out).all() and (out[1] == 0).all()
    assert np.allclose(out[0], 1.0, atol=1e-4)


def test_larger_epsilons_and_zeros_are_left_alone() -> None:
    import torch

    from shapeprof.export.graph_form import keep_small_constants

    with torch.no_grad():
        program = torch.onnx.export(RMSNorm.module(1e-6), (torch.randn(2, 4),), dynamo=True, optimize=False,
                                    verbose=False, report=False)
    assert keep_small_constants(program.model) == 0
