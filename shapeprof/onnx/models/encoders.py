"""Encoder-only text architectures.

Each class only states how its architecture differs from the generic text
encoder: which inputs its tokenizer produces, how its config names things,
and where its positions start.
"""

from __future__ import annotations

from ..registry import register
from ..normalized import NormalizedTextConfig
from ..text import ENCODER_TASKS, TextEncoderOnnxConfig

NO_TOKEN_TYPES = ("input_ids", "attention_mask")


@register("bert", *ENCODER_TASKS)
class BertOnnxConfig(TextEncoderOnnxConfig):
    """BERT: input ids, attention mask and token type ids."""


@register("albert", *ENCODER_TASKS)
class AlbertOnnxConfig(TextEncoderOnnxConfig):
    """ALBERT: BERT's inputs with factorised, shared-layer weights."""


@register("electra", *ENCODER_TASKS)
class ElectraOnnxConfig(TextEncoderOnnxConfig):
    """ELECTRA discriminator: BERT's inputs."""


@register("roberta", *ENCODER_TASKS)
class RobertaOnnxConfig(TextEncoderOnnxConfig):
    """RoBERTa: no token type ids; positions start after padding_idx."""

    TEXT_INPUTS = NO_TOKEN_TYPES
    POSITION_OFFSET = 2


@register("xlm-roberta", *ENCODER_TASKS)
class XLMRobertaOnnxConfig(TextEncoderOnnxConfig):
    """XLM-RoBERTa: RoBERTa's inputs and position offset."""

    TEXT_INPUTS = NO_TOKEN_TYPES
    POSITION_OFFSET = 2


@register("mpnet", *ENCODER_TASKS)
class MPNetOnnxConfig(TextEncoderOnnxConfig):
    """MPNet: no token type ids; positions start after padding_idx; own relative attention."""

    TEXT_INPUTS = NO_TOKEN_TYPES
    POSITION_OFFSET = 2
    FUSABLE_ATTENTION = False


@register("distilbert", *ENCODER_TASKS)
class DistilBertOnnxConfig(TextEncoderOnnxConfig):
    """DistilBERT: no token type ids, and its own attribute names."""

    TEXT_INPUTS = NO_TOKEN_TYPES
    NORMALIZED_CONFIG_CLASS = NormalizedTextConfig.with_args(
        hidden_size="dim", num_attention_heads="n_heads", num_layers="n_layers"
    )


@register("deberta-v2", *ENCODER_TASKS)
class DebertaV2OnnxConfig(TextEncoderOnnxConfig):
    """DeBERTa-v2/v3: token type ids only when the config has token types; disentangled attention."""

    FUSABLE_ATTENTION = False

    @property
    def TEXT_INPUTS(self) -> tuple[str, ...]:  # type: ignore[override]
        if self._normalized_config.type_vocab_size > 0:
            return TextEncoderOnnxConfig.TEXT_INPUTS
        return NO_TOKEN_TYPES
