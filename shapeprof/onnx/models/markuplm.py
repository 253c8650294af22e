"""MarkupLM: BERT's inputs plus each token's XPath in the page, as tag ids and subscripts per depth."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..dummy import DummyInputGenerator, DummyTextInputGenerator
from ..text import TextEncoderOnnxConfig

XPATH_INPUTS = ("xpath_tags_seq", "xpath_subs_seq")


class DummyXPathInputGenerator(DummyInputGenerator):
    """(batch, sequence, max depth) tag ids and subscripts inside the config's embedding tables."""

    SUPPORTED_INPUT_NAMES = XPATH_INPUTS

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        cfg = self.normalized_config.config
        tags = input_name == "xpath_tags_seq"
        high = cfg.max_xpath_tag_unit_embeddings if tags else cfg.max_xpath_subs_unit_embeddings
        shape = (self.shapes[axes[0]], self.shapes[axes[1]], int(cfg.max_depth))
        return self.rng.integers(0, high, size=shape, dtype=np.int64)


class MarkupTextOnnxConfig(TextEncoderOnnxConfig):
    """Text-plus-markup encoders: the depth axis is the config's ``max_depth``, so it is not named."""

    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator, DummyXPathInputGenerator)

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        spec = super().inputs
        axes = {0: "batch_size", 1: "sequence_length"}
        return {**spec, **{name: dict(axes) for name in XPATH_INPUTS}}
