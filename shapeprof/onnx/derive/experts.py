"""Mixtures of experts in every derived family, not only decoders.

transformers 5 dispatches the experts of most mixtures of experts on
``config._experts_implementation``; its default, ``grouped_mm``, is a custom op
(``transformers.grouped_mm_fallback``) with no ONNX function. A derived decoder already traces
them with :data:`~shapeprof.onnx.text.EXPORTABLE_EXPERTS` (batched experts, plain torch ops); this
module gives any other derived class (an image-text-to-text model's feature extraction, an
encoder...) the same setting while it is exported. Verification compares the graph with the
model as it is (``grouped_mm``): the same experts, computed another way.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..base import OnnxConfig
from ..text import EXPORTABLE_EXPERTS
from .probe import has_routed_experts


class ExportableExperts(OnnxConfig):
    """Mixin: ``EXPERTS_IMPLEMENTATION`` set on the model (every sub-config) while it is traced."""

    EXPERTS_IMPLEMENTATION: ClassVar[str | None] = None

    def export_settings(self) -> dict[str, Any]:
        settings = super().export_settings()
        if self.EXPERTS_IMPLEMENTATION:
            settings["_experts_implementation"] = self.EXPERTS_IMPLEMENTATION
        return settings


def with_exportable_experts(model: Any, cls: type[OnnxConfig]) -> type[OnnxConfig]:
    """``cls``, traced with batched experts when ``model`` routes to experts and ``cls`` does not
    already choose an implementation (derived decoders do); else ``cls`` itself."""
    if not has_routed_experts(model) or getattr(cls, "EXPERTS_IMPLEMENTATION", None):
        return cls
    derivation = {**getattr(cls, "DERIVATION", {}), "experts_implementation": EXPORTABLE_EXPERTS}
    attrs = {"__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__,
             "EXPERTS_IMPLEMENTATION": EXPORTABLE_EXPERTS, "DERIVATION": derivation}
    return type(cls.__name__, (ExportableExperts, cls), attrs)


def looped_experts(model: Any) -> str | None:
    """The class name of an experts module that loops over the experts its tokens are routed to
    (``for expert in routed.nonzero()``: SwitchTransformers, NLLB-MoE) and does not dispatch on
    ``_experts_implementation``; None when there is none. torch.export cannot trace a loop whose
    length depends on the data."""
    import inspect

    for module in model.modules():
        name = type(module).__name__
        if not name.endswith("Experts") or hasattr(module, "is_concatenated"):
            continue
        code = getattr(inspect.unwrap(type(module).forward), "__code__", None)
        if code is not None and "nonzero" in code.co_names:
            return name
    return None
