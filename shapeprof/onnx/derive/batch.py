"""Whether torch.export keeps the batch of a derived image config dynamic once its image sides are
static. Pixtral's vision tower loops over its images in Python (one crop per ``image_sizes``
entry) and concatenates them into one sequence: the trace unrolls the loop at the traced batch,
so the batch is a constant of the graph and must be static (1) for the graph to be correct.
"""

from __future__ import annotations

from typing import Any

from ..base import OnnxConfig
from .probe import dynamic_trace_guard


def batch_guard(model: Any, draft: type[OnnxConfig], task: str) -> str | None:
    """None when torch.export keeps ``draft``'s batch dynamic with its static axes as they are;
    else why not (the guard or specialisation torch.export reported)."""
    return dynamic_trace_guard(model, draft(model.config, task=task))
