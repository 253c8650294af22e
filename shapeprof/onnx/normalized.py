"""Normalized configs: one set of attribute names over every architecture.

Architectures name the same thing differently (``n_layer``, ``num_hidden_layers``,
``n_layers``); a normalized config maps shapeprof's canonical names onto them,
so one code path serves all models. A model that only renames attributes is one
line: ``NormalizedTextConfig.with_args(num_layers="n_layers")``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class NormalizedConfig:
    """Read-only view of a transformers config under canonical attribute names."""

    ATTRIBUTES: ClassVar[dict[str, str]] = {}
    DEFAULTS: ClassVar[dict[str, Any]] = {}

    def __init__(self, config: Any) -> None:
        self.config = config

    @classmethod
    def with_args(cls, **attributes: str) -> type[NormalizedConfig]:
        """A subclass whose canonical names map to other config attributes."""
        mapping = {**cls.ATTRIBUTES, **attributes}
        return type(cls.__name__, (cls,), {"ATTRIBUTES": mapping})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        attr = self.ATTRIBUTES.get(name, name)
        config = self.__dict__["config"]
        for part in attr.split("."):
            try:
                config = getattr(config, part)
            except Exception:   # AttributeError, or a config refusing a global read of a per-layer value
                if name in self.DEFAULTS:
                    return self.DEFAULTS[name]
                raise AttributeError(
                    f"{type(config).__name__} has no attribute {attr!r} (normalized name {name!r})"
                ) from None
        return config

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return getattr(self, name)
        except AttributeError:
            return default


class NormalizedTextConfig(NormalizedConfig):
    ATTRIBUTES = {
        "vocab_size": "vocab_size",
        "hidden_size": "hidden_size",
        "num_attention_heads": "num_attention_heads",
        "num_layers": "num_hidden_layers",
        "max_position_embeddings": "max_position_embeddings",
        "type_vocab_size": "type_vocab_size",
    }
    DEFAULTS = {"type_vocab_size": 0, "max_position_embeddings": None}


class NormalizedVisionConfig(NormalizedConfig):
    ATTRIBUTES = {"image_size": "image_size", "num_channels": "num_channels"}
    DEFAULTS = {"image_size": 224, "num_channels": 3}


class NormalizedTextAndVisionConfig(NormalizedConfig):
    ATTRIBUTES = {"text_config": "text_config", "vision_config": "vision_config"}
