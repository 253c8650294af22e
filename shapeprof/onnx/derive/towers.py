"""Derivation for text-and-image and text-plus-extra-input models (see :mod:`shapeprof.onnx.derive`).

Generic rules first, each chosen by what the model takes and returns:

- two towers (CLIP-style): a config with ``text_config`` and ``vision_config``, a learned
  ``logit_scale`` (the contrastive temperature), a forward taking ``input_ids`` and
  ``pixel_values``: the registered ``TextAndVisionOnnxConfig`` inputs and outputs, independent
  text and image batches, axes probed; videos (``vision_config.num_frames``) likewise;
- layout encoders: a text encoder whose forward also takes ``bbox``: one valid box per token
  (integer corners inside the model's 2-D position tables, or normalized floats when it has none);
- table encoders: ``token_type_ids`` with one id per token type table (``type_vocab_sizes``);
- pooled encoders: a text encoder whose feature-extraction output is ``pooler_output`` only;
- single-stream text and image encoders: the tokenizer's and the image processor's inputs;
- image models whose ``logits`` is a tuple: one output per head.

Then the clean refusals, naming the input or family at fault: detector region features, language
ids that pick adapters by data-dependent control flow, images spliced into a language model,
layout encoder-decoders, text-conditioned detectors, prompt images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ..base import OnnxConfig
from ..dummy import DummyInputGenerator, DummyTextInputGenerator
from ..multimodal import (DummyBboxInputGenerator, LayoutTextOnnxConfig, TextAndVisionOnnxConfig, _ImageGenerator,
                          _TextGenerator, _VisionPart)
from ..text import TextEncoderOnnxConfig
from ..vision import IMAGE_AXES, DummyImageInputGenerator, ImageSides, VisionOnnxConfig, image_size_of
from .families import Encoder, Family, Vision, make_class
from .probe import DeriveError, check_required, forward_params, position_offset, preprocessor_inputs

TOWER_TASKS = ("feature-extraction", "zero-shot-image-classification")
# Inputs only a detector (region features) or a per-language adapter switch provides.
UNPRODUCIBLE = {
    "visual_embeds": "region features from an object detector, which no preprocessor of the model produces",
    "visual_feats": "region features from an object detector, which no preprocessor of the model produces",
    "lang_ids": "a language id per example, which selects an adapter by data-dependent control flow "
                "(torch.unique_consecutive and a Python loop) and no tokenizer produces",
}


def family(model: Any, task: str) -> type[Family] | None:
    """The family of this module that derives ``model`` for ``task``, or None (another family's turn).
    Raises the clean refusal for inputs nobody can produce."""
    params = forward_params(model)
    config = model.config
    towers = getattr(config, "vision_config", None) is not None and getattr(config, "text_config", None) is not None
    main = getattr(model, "main_input_name", "input_ids")
    if towers:
        return _towers_family(model, task, params)
    if main == "pixel_values":
        return _image_family(model, task, params)
    return _text_family(model, task, params) if main == "input_ids" else None


def _towers_family(model: Any, task: str, params: Mapping[str, bool]) -> type[Family] | None:
    import torch

    config = model.config
    if task not in TOWER_TASKS:
        return None
    if _splices_images(config):
        raise DeriveError(config.model_type, task, "family", "image features are spliced into the language "
                          "model's input at image tokens (a generative vision-language model), not two towers",
                          TextAndVisionOnnxConfig.__name__)
    contrastive = isinstance(getattr(model, "logit_scale", None), torch.nn.Parameter)   # CLIP's temperature
    if contrastive and {"input_ids", "pixel_values"} <= set(params):
        return VideoTowers if getattr(config.vision_config, "num_frames", None) else TwoTowers
    return None


def _image_family(model: Any, task: str, params: Mapping[str, bool]) -> type[Family] | None:
    config = model.config
    if config.is_encoder_decoder and "input_ids" in params:
        raise DeriveError(config.model_type, task, "family", "a text-conditioned detector (image and text into "
                          "an encoder-decoder of object queries) is not derived", OnnxConfig.__name__)
    prompts = [n for n, required in params.items() if required and n.startswith("prompt_")]
    if prompts:
        raise DeriveError(config.model_type, task, "inputs", f"forward requires {', '.join(map(repr, prompts))}: "
                          "a prompt image and mask stacked with the input image (in-context segmentation), "
                          "which derivation does not generate", VisionOnnxConfig.__name__)
    if task == "feature-extraction" and _tuple_logits(model):
        return SplitLogitsVision
    return None


def _text_family(model: Any, task: str, params: Mapping[str, bool]) -> type[Family] | None:
    config = model.config
    for name, why in UNPRODUCIBLE.items():
        if name in params:
            raise DeriveError(config.model_type, task, "inputs", f"forward takes {name!r}: {why}",
                              TextEncoderOnnxConfig.__name__)
    if config.is_encoder_decoder:
        if "bbox" in params:
            raise DeriveError(config.model_type, task, "family", "an encoder-decoder taking 'bbox' (text, layout "
                              "and page image into one encoder, then a decoder) is not derived",
                              LayoutTextOnnxConfig.__name__)
        return None
    if "bbox" in params:
        return None if {"pixel_values", "image"} & set(params) else LayoutEncoder
    if "pixel_values" in params:
        return TextAndImageEncoder
    if isinstance(getattr(config, "type_vocab_sizes", None), (list, tuple)):
        return TableEncoder
    if task == "feature-extraction" and _pooled_only(model):
        return PooledEncoder
    return None


def _splices_images(config: Any) -> bool:
    """Whether the config names an image placeholder token (BLIP-2, LLaVA-style models)."""
    return any(hasattr(config, name) for name in ("image_token_index", "image_token_id"))


def _tuple_logits(model: Any) -> int:
    """How many tensors the ``logits`` tuple of one forward pass holds (MGP-STR's character, BPE and
    word-piece heads); 0 when the output has ``last_hidden_state`` or its logits are one tensor."""
    try:
        out = _FlatLogits(model).forward_raw()
    except Exception:   # the Vision family reports the model's own error with the probe's shapes
        return 0
    if not hasattr(out, "get") or out.get("last_hidden_state") is not None:
        return 0
    logits = out.get("logits")
    if not isinstance(logits, tuple):
        return 0
    return len(logits)


def _pooled_only(model: Any) -> bool:
    """Whether one forward pass returns ``pooler_output`` and no ``last_hidden_state`` (DPR)."""
    import torch

    ids = torch.full((1, 4), 3, dtype=torch.long)
    try:
        with torch.no_grad():
            out = model(input_ids=ids, return_dict=True)
    except Exception:   # the Encoder family reports the model's own error with the probe's shapes
        return False
    return hasattr(out, "get") and out.get("last_hidden_state") is None and out.get("pooler_output") is not None


# ---- two towers -----------------------------------------------------------------------------------

class TwoTowers(Family):
    """CLIP-style: a text batch and an image batch of independent sizes, similarity logits between them."""

    BASE = TextAndVisionOnnxConfig

    @classmethod
    def derive(cls, model: Any, task: str) -> type[OnnxConfig]:
        config = model.config
        preprocessor, names = preprocessor_inputs(config.model_type)
        image_processor, image_names = preprocessor_inputs(config.model_type, "image")
        if image_names and "pixel_values" not in image_names:
            raise cls.fail(model, task, "inputs", f"{image_processor} produces no 'pixel_values'")
        params = forward_params(model)
        text = tuple(n for n in ("input_ids", "attention_mask") if n in params and (not names or n in names
                                                                                    or n == "input_ids"))
        check_required(model, task, {*text, "pixel_values"}, cls.BASE.__name__)
        draft = make_class(cls.BASE, config.model_type, (), TEXT_INPUTS=text, POSITION_OFFSET=position_offset(model))
        height, width = draft(config, task=task).image_size()
        base = {"text_batch_size": 2, "image_batch_size": 3, "sequence_length": 5, "height": height, "width": width}
        moved = {"text_batch_size": 4, "image_batch_size": 5, "sequence_length": 7}
        axes, fixed = cls.probe(model, draft, task, base, moved)
        return cls.finish(draft, task, axes, fixed, preprocessor=preprocessor, image_processor=image_processor,
                          inputs=[*text, "pixel_values"], static_axes=list(draft.STATIC_AXES))


class DummyVideoInputGenerator(_ImageGenerator):
    """``pixel_values`` of a video tower: (videos, frames, channels, height, width), the frame count
    from ``vision_config.num_frames``."""

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        frames = int(_VisionPart(self.normalized_config.config).num_frames)
        shape = (self.shapes[axes[0]], frames, self.channels, self.height, self.width)
        return self.rng.standard_normal(shape, dtype=np.float32)


class TextAndVideoOnnxConfig(TextAndVisionOnnxConfig):
    """Two towers over text and video (X-CLIP): each video is a fixed number of frames at the vision
    tower's image size; ``image_batch_size`` counts videos, one text embedding per (video, text)."""

    DUMMY_INPUT_GENERATOR_CLASSES = (_TextGenerator, DummyVideoInputGenerator)

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        spec = {name: {0: "text_batch_size", 1: "sequence_length"} for name in self.TEXT_INPUTS}
        spec["pixel_values"] = {0: "image_batch_size", 3: "height", 4: "width"}
        return spec

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        return {"logits_per_video": {0: "image_batch_size", 1: "text_batch_size"},
                "logits_per_text": {0: "text_batch_size", 1: "image_batch_size"},
                "text_embeds": {0: "image_batch_size", 1: "text_batch_size"},
                "video_embeds": {0: "image_batch_size"}}


class VideoTowers(TwoTowers):
    BASE = TextAndVideoOnnxConfig


# ---- text encoders with one more input ------------------------------------------------------------

class DummyLayoutBboxInputGenerator(DummyBboxInputGenerator):
    """Valid boxes: integer corners inside the 2-D position tables (``max_2d_position_embeddings``),
    or normalized float corners (0 <= x0 <= x1 <= 1) for a model that has no such table and
    embeds coordinates sinusoidally (BROS)."""

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        if self.normalized_config.get("max_2d_position_embeddings"):
            return super().generate(input_name, axes)
        shape = (self.shapes[axes[0]], self.shapes[axes[1]])
        corners = np.sort(self.rng.random(size=(*shape, 2, 2), dtype=np.float32), axis=-1)   # (.., x|y, 2)
        return np.stack([corners[..., 0, 0], corners[..., 1, 0], corners[..., 0, 1], corners[..., 1, 1]], axis=-1)


class LayoutEncoderOnnxConfig(LayoutTextOnnxConfig):
    """The tokenizer's inputs plus one box per token (``bbox``)."""

    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator, DummyLayoutBboxInputGenerator)
    TEXT_INPUTS: ClassVar[tuple[str, ...]] = ("input_ids", "attention_mask")

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        axes = {0: "batch_size", 1: "sequence_length"}
        return {"input_ids": dict(axes), "bbox": dict(axes),
                **{name: dict(axes) for name in self.TEXT_INPUTS if name != "input_ids"}}


class LayoutEncoder(Encoder):
    """Text encoders taking ``bbox`` and no page image (LiLT, BROS)."""

    BASE = LayoutEncoderOnnxConfig
    OTHER_MODALITY_INPUTS = ("pixel_values", "image", "visual_embeds", "input_features")

    @classmethod
    def derive(cls, model: Any, task: str) -> type[OnnxConfig]:
        derived = super().derive(model, task)
        rows = getattr(model.config, "max_2d_position_embeddings", None)
        kind = f"integer corners below {rows}" if rows else "normalized float corners (no 2-D position table)"
        derived.DERIVATION = {**derived.DERIVATION, "bbox": kind}
        return derived


class DummyTableTokenTypesGenerator(DummyInputGenerator):
    """``token_type_ids`` of a table encoder (TAPAS): (batch, sequence, one id per type table),
    each id below its table's size (``type_vocab_sizes``)."""

    SUPPORTED_INPUT_NAMES = ("token_type_ids",)

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        sizes = np.asarray(self.normalized_config.get("type_vocab_sizes"), dtype=np.int64)
        shape = (self.shapes[axes[0]], self.shapes[axes[1]], len(sizes))
        return (self.rng.random(size=shape) * sizes).astype(np.int64)


class TableEncoderOnnxConfig(TextEncoderOnnxConfig):
    """Text encoders whose token types are several ids per token (row, column, rank, ...)."""

    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTableTokenTypesGenerator, DummyTextInputGenerator)


class TableEncoder(Encoder):
    BASE = TableEncoderOnnxConfig


class PooledEncoderOnnxConfig(TextEncoderOnnxConfig):
    """Text encoders whose features are one pooled vector per example (DPR)."""

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        if self.task == "feature-extraction":
            return {"pooler_output": {0: "batch_size"}}
        return super().outputs


class PooledEncoder(Encoder):
    BASE = PooledEncoderOnnxConfig


# ---- one stream of text and image patches (ViLT) ----------------------------------------------------

class TextAndImageEncoderOnnxConfig(ImageSides, TextEncoderOnnxConfig):
    """Text tokens and image patches in one encoder: one batch, the image at the config's size
    (static sides), the outputs' length text plus patches (a derived axis, left unnamed)."""

    DUMMY_INPUT_GENERATOR_CLASSES = (DummyTextInputGenerator, DummyImageInputGenerator)
    STATIC_AXES = IMAGE_AXES
    FUSABLE_ATTENTION = False
    IMAGE_INPUTS: ClassVar[tuple[str, ...]] = ("pixel_values",)

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        spec = super().inputs
        spec["pixel_values"] = {0: "batch_size", 2: "height", 3: "width"}
        if "pixel_mask" in self.IMAGE_INPUTS:
            spec["pixel_mask"] = {0: "batch_size", 1: "height", 2: "width"}
        return spec



class TextAndImageEncoder(Encoder):
    """Single-stream text-and-image encoders: the tokenizer's inputs plus the image processor's."""

    BASE = TextAndImageEncoderOnnxConfig
    OTHER_MODALITY_INPUTS = ("bbox", "image", "visual_embeds", "input_features")

    @classmethod
    def extra_attrs(cls, model: Any, task: str) -> dict[str, Any]:
        processor, names = preprocessor_inputs(model.config.model_type, "image")
        if not processor:
            raise cls.fail(model, task, "inputs", "forward takes 'pixel_values' but the model type maps no "
                           "image processor")
        params = forward_params(model)
        return {"IMAGE_INPUTS": tuple(n for n in ("pixel_values", "pixel_mask") if n in params and n in names)}

    @classmethod
    def derive(cls, model: Any, task: str) -> type[OnnxConfig]:
        derived = super().derive(model, task)
        processor, _ = preprocessor_inputs(model.config.model_type, "image")
        derived.DERIVATION = {**derived.DERIVATION, "image_processor": processor,
                              "inputs": [*derived.DERIVATION["inputs"], *derived.IMAGE_INPUTS]}
        return derived


# ---- image models whose logits are a tuple (MGP-STR) -------------------------------------------------

class SplitLogitsVisionOnnxConfig(VisionOnnxConfig):
    """Image models returning a tuple of logits (one per head): one graph output per element,
    ``logits.0``, ``logits.1``, ... in the tuple's order."""

    LOGITS: ClassVar[int] = 1

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        return {f"logits.{i}": {0: "batch_size"} for i in range(self.LOGITS)}

    def select_outputs(self, out: Any, names: Sequence[str]) -> tuple[Any, ...]:
        return tuple(out["logits"][int(n.split(".", 1)[1])] if n.startswith("logits.") else out[n] for n in names)


class _FlatLogits:
    """The model, its tuple of logits flattened to ``logits.<i>`` keys (for the axis probe)."""

    def __init__(self, model: Any) -> None:
        self.model, self.config = model, model.config

    def forward_raw(self) -> Any:
        import torch

        from ..normalized import NormalizedVisionConfig

        height, width = image_size_of(NormalizedVisionConfig(self.config))
        channels = getattr(self.config, "num_channels", 3) or 3
        with torch.no_grad():
            return self.model(pixel_values=torch.zeros(1, channels, height, width), return_dict=True)

    def __call__(self, **kwargs: Any) -> dict[str, Any]:
        out = self.model(**kwargs)
        return {f"logits.{i}": t for i, t in enumerate(out["logits"])}


class SplitLogitsVision(Vision):
    BASE = SplitLogitsVisionOnnxConfig

    @classmethod
    def extra_attrs(cls, model: Any, task: str) -> dict[str, Any]:
        return {"LOGITS": _tuple_logits(model)}

    @classmethod
    def probe(cls, model: Any, draft: type[OnnxConfig], task: str, base: Mapping[str, int],
              moved: Mapping[str, int], skip: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
        return super().probe(_FlatLogits(model), draft, task, base, moved, skip)
