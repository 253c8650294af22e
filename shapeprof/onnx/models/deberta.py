"""DeBERTa-v2/v3: token type ids are an input only when the config has token types."""

from __future__ import annotations

from ..text import TextEncoderOnnxConfig


class OptionalTokenTypesOnnxConfig(TextEncoderOnnxConfig):
    """A text encoder that drops ``token_type_ids`` when ``type_vocab_size`` is 0."""

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        spec = super().inputs
        if not self._normalized_config.type_vocab_size:
            spec.pop("token_type_ids", None)
        return spec
