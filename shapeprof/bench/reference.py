"""The reference workload: a fixed tiny ONNX graph timed in every round of every run.

The graph, its input and the session settings are fixed, so its latency changes only with the
machine's state (frequency, load, cache pressure). ``compare`` can divide a cell's round
lower quartile by the reference's in the same round, which cancels the part of the drift
between two runs that hits both alike (see shapeprof.regression.stats). A slice of reference
samples follows every cell of a round, so a round's reference spans that round's whole
duration. Each slice runs for a fixed time (``SLICE``), not a fixed count: three samples a
slice (the first design) left the reference noisier than the drift it was meant to cancel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .paired import round_medians
from .runner import SessionSettings, TimingPolicy, collect_samples, make_session

ROWS, WIDTH, LAYERS = 32, 1024, 6
SLICE = TimingPolicy(warmup=1, min_samples=3, min_time_s=0.05)    # after each cell
WORKLOAD = (f"onnxruntime graph: {LAYERS} x (MatMul [{ROWS},{WIDTH}] x [{WIDTH},{WIDTH}] + Relu), "
            f"float32, seed 0, the run's session settings, {SLICE.min_time_s * 1000:.0f} ms after each cell")


def reference_model() -> bytes:
    """The serialised reference graph (deterministic: fixed shapes and seeded weights)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits, last = [], [], "x"
    for i in range(LAYERS):
        w = (rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        nodes += [helper.make_node("MatMul", [last, f"w{i}"], [f"m{i}"]),
                  helper.make_node("Relu", [f"m{i}"], [f"r{i}"])]
        last = f"r{i}"
    graph = helper.make_graph(nodes, "shapeprof-reference",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [ROWS, WIDTH])],
                              [helper.make_tensor_value_info(last, TensorProto.FLOAT, [ROWS, WIDTH])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


@dataclass(frozen=True)
class ReferenceResult:
    """The reference's raw samples (ms), in rounds like a cell's."""

    workload: str
    samples_ms: tuple[float, ...]
    round_sizes: tuple[int, ...]

    def round_medians(self) -> np.ndarray | None:
        return round_medians(self.samples_ms, self.round_sizes)

    def to_dict(self) -> dict[str, Any]:
        return {"workload": self.workload, "samples_ms": list(self.samples_ms),
                "round_sizes": list(self.round_sizes)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReferenceResult:
        return cls(str(d["workload"]), tuple(float(s) for s in d["samples_ms"]),
                   tuple(int(n) for n in d["round_sizes"]))


@dataclass
class ReferenceTimer:
    """Times slices of the reference and files them under their round."""

    settings: SessionSettings
    session: Any = None
    feeds: dict[str, np.ndarray] = field(default_factory=dict)
    rounds: dict[int, list[float]] = field(default_factory=dict)

    def time(self, round_index: int) -> None:
        if self.session is None:
            self.session = make_session(reference_model(), self.settings)
            self.feeds = {"x": np.random.default_rng(1).standard_normal((ROWS, WIDTH)).astype(np.float32)}
        got = collect_samples(lambda: self.session.run(None, self.feeds), SLICE)
        self.rounds.setdefault(round_index, []).extend(got)

    def result(self) -> ReferenceResult | None:
        if not self.rounds:
            return None
        ordered = [self.rounds[r] for r in sorted(self.rounds)]
        return ReferenceResult(WORKLOAD, tuple(s for block in ordered for s in block),
                               tuple(len(block) for block in ordered))
