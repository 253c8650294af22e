"""Mixtures of experts: exported with transformers' batched experts, which torch.export can trace."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ..text import TextDecoderOnnxConfig

# "grouped_mm" (the default) is a custom op with no ONNX function; "eager" loops over the experts
# a batch routes to (a data-dependent loop). "batched_mm" gathers each token's experts' weights.
EXPORTABLE_EXPERTS = "batched_mm"


@contextlib.contextmanager
def experts_implementation(model: Any, name: str) -> Iterator[Any]:
    """Run ``model`` (every sub-config) with experts implementation ``name``; restore on exit."""
    configs = {id(m.config): m.config for m in model.modules() if hasattr(m, "config")}.values()
    saved = [(c, c._experts_implementation) for c in configs if hasattr(c, "_experts_implementation")]
    try:
        for config, _ in saved:
            config._experts_implementation = name
        yield model
    finally:
        for config, implementation in saved:
            config._experts_implementation = implementation


class ExpertsDecoderOnnxConfig(TextDecoderOnnxConfig):
    """A decoder whose feed-forward layers route each token to a few of several experts."""

    @contextlib.contextmanager
    def patch_model_for_export(self, model: Any) -> Iterator[Any]:
        with super().patch_model_for_export(model) as patched:
            if patched is None:
                yield patched
                return
            with experts_implementation(patched, EXPORTABLE_EXPERTS):
                yield patched
