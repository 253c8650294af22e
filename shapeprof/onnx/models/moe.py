"""Mixtures of experts: exported with transformers' batched experts, which torch.export can trace."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ..text import TextDecoderOnnxConfig

# "grouped_mm" (the default) is a custom op with no ONNX function; "eager" loops over the experts
# a batch routes to (a data-dependent loop). "batched_mm" gathers each token's experts' weights.
EXPORTABLE_EXPERTS = "batched_mm"


class ExpertsDecoderOnnxConfig(TextDecoderOnnxConfig):
    """A decoder whose feed-forward layers route each token to a few of several experts."""

    @contextlib.contextmanager
    def patch_model_for_export(self, model: Any) -> Iterator[Any]:
        from ...export.graph_form import config_setting

        with super().patch_model_for_export(model) as patched:
            if patched is None:
                yield patched
                return
            with config_setting(patched, "_experts_implementation", EXPORTABLE_EXPERTS):
                yield patched
