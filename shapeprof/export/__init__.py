"""The export stage: plan shapes, convert with torch.onnx (dynamo), verify against PyTorch.

One module per stage (:mod:`.plan`, :mod:`.convert`, :mod:`.verify`), the pipeline that
strings them together (:mod:`.pipeline`), generation parity (:mod:`.generation`) and the
dataset-driven export (:mod:`.profiled`). Importing this package does not import torch.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .pipeline import ExportResult, PartResult, export
from .plan import ExportPlan, plan_export
from .verify import VerificationReport

__all__ = ["ExportPlan", "ExportResult", "PartResult", "VerificationReport", "export", "plan_export"]


class _CallablePackage(types.ModuleType):
    """``shapeprof.export`` is both this package and the function: importing a submodule
    binds the package to the name, so calling the package calls :func:`export`."""

    def __call__(self, *args: Any, **kwargs: Any) -> ExportResult:
        return export(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
