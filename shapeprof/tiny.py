"""Tiny randomly initialised models, built locally from transformers config classes.

Used by the architecture-matrix tests, the CI benchmark and the notebooks'
defaults: no download, a few hundred kB each, same graph structure as the
real architectures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    from transformers import PretrainedConfig, PreTrainedModel

_COMMON = {"vocab_size": 128, "hidden_size": 32, "num_hidden_layers": 2,
           "num_attention_heads": 4, "intermediate_size": 37}

# Per model type: overrides of the common small sizes (and renamed attributes).
TEXT_ENCODERS: dict[str, dict[str, Any]] = {
    "bert": {"max_position_embeddings": 512},
    "albert": {"embedding_size": 16, "max_position_embeddings": 512},
    "electra": {"embedding_size": 16, "max_position_embeddings": 512},
    "roberta": {"max_position_embeddings": 514, "pad_token_id": 1},
    "xlm-roberta": {"max_position_embeddings": 514, "pad_token_id": 1},
    "mpnet": {"max_position_embeddings": 514, "pad_token_id": 1},
    "distilbert": {"dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 37,
                   "max_position_embeddings": 512},
    "deberta-v2": {"max_position_embeddings": 512, "type_vocab_size": 2,
                   "relative_attention": True, "position_buckets": 16, "pos_att_type": ["p2c", "c2p"]},
}

# Decoder-only and encoder-decoder models.
GENERATIVE: dict[str, dict[str, Any]] = {}

# Vision, audio and text-and-vision models.
OTHER_MODALITIES: dict[str, dict[str, Any]] = {}

TINY_CONFIGS: dict[str, dict[str, Any]] = {**TEXT_ENCODERS, **GENERATIVE, **OTHER_MODALITIES}


def tiny_config(model_type: str, **overrides: Any) -> PretrainedConfig:
    """A small config of ``model_type`` (2 layers, hidden size 32)."""
    from transformers import AutoConfig

    if model_type not in TINY_CONFIGS:
        raise ConfigError(f"no tiny config for {model_type!r}; known: {', '.join(sorted(TINY_CONFIGS))}")
    kwargs = {**_COMMON, **TINY_CONFIGS[model_type], **overrides}
    if model_type == "distilbert":
        for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"):
            kwargs.pop(key)
    return AutoConfig.for_model(model_type, **kwargs)


def tiny_model(model_type: str, task: str = "feature-extraction", seed: int = 0,
               **overrides: Any) -> PreTrainedModel:
    """A randomly initialised tiny model of ``model_type`` with the head of ``task``."""
    import torch

    from .tasks import auto_class, normalize_task

    config = tiny_config(model_type, **overrides)
    torch.manual_seed(seed)
    return auto_class(normalize_task(task)).from_config(config).eval()
