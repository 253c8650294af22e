"""Mixtures of experts: exported with transformers' batched experts, which torch.export can trace."""

from __future__ import annotations

from typing import ClassVar

from ..text import TextDecoderOnnxConfig

# "grouped_mm" (the default) is a custom op with no ONNX function; "eager" loops over the experts
# a batch routes to (a data-dependent loop). "batched_mm" gathers each token's experts' weights.
EXPORTABLE_EXPERTS = "batched_mm"


class ExpertsDecoderOnnxConfig(TextDecoderOnnxConfig):
    """A decoder whose feed-forward layers route each token to a few of several experts."""

    EXPERTS_IMPLEMENTATION: ClassVar[str | None] = EXPORTABLE_EXPERTS
