"""Which modality a model has: the one decision profile, export and bench all take.

``modality_of`` answers "text", "image", "audio" or "text+image" (CLIP-style pairs) from the
model's registered ONNX config class (its level-2 base); an exported directory whose model type
nobody registered is judged by its graph's input names instead, and an unregistered model by
what a derived config would take: its transformers class's main input (``pixel_values`` is
image, ``input_values`` or ``input_features`` audio; a zero-shot image classifier is
text+image). Anything unknown is text, whose path then reports the problem in its own words.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .onnx.base import OnnxConfig

Modality = Literal["text", "image", "audio", "text+image"]
MODALITIES: tuple[Modality, ...] = ("text", "image", "audio", "text+image")
MEDIA: tuple[Modality, ...] = ("image", "audio")          # sized by a preprocessor, not a tokenizer
MEDIA_INPUTS: dict[str, Modality] = {"pixel_values": "image", "input_values": "audio"}
MAIN_INPUTS: dict[str, Modality] = {**MEDIA_INPUTS, "input_features": "audio", "input_ids": "text"}
TEXT_INPUTS = ("input_ids", "bbox")


def modality_of(model: Any) -> Modality:
    """The modality of ``model``: a model path or Hub id, an exported directory (``ModelDir``),
    a transformers config or model, or an ONNX config class or instance. None is the default
    (text) model."""
    if isinstance(model, type) or _is_onnx_config(model):
        return modality_of_config_class(model if isinstance(model, type) else type(model))
    model_type, inputs = _identify(model)
    cls = _registered(model_type)
    if cls is not None:
        return modality_of_config_class(cls)
    if inputs:
        return modality_of_inputs(inputs)
    return modality_of_model_type(model_type) if model_type else "text"


def modality_of_config_class(cls: type[OnnxConfig]) -> Modality:
    """A registered config class's modality, from its level-2 base."""
    from .onnx.audio import AudioOnnxConfig
    from .onnx.multimodal import TextAndVisionOnnxConfig
    from .onnx.vision import VisionOnnxConfig

    if issubclass(cls, VisionOnnxConfig):
        return "image"
    if issubclass(cls, AudioOnnxConfig):
        return "audio"
    if issubclass(cls, TextAndVisionOnnxConfig):
        return "text+image"
    return "text"


def modality_of_inputs(names: Iterable[str]) -> Modality:
    """From graph input names: one media input and no text input is image or audio."""
    names = set(names)
    media = {MEDIA_INPUTS[n] for n in names if n in MEDIA_INPUTS}
    text = bool(names & set(TEXT_INPUTS))
    if len(media) == 1 and not text:
        return media.pop()
    if media == {"image"} and "input_ids" in names and "bbox" not in names:
        return "text+image"
    return "text"


def modality_of_model_type(model_type: str) -> Modality:
    """An unregistered type's modality from transformers' classes, without building a model: a
    zero-shot image classifier is text+image, else the base model class's ``main_input_name``
    (the input :mod:`shapeprof.onnx.derive` picks the family by)."""
    import transformers
    from transformers.models.auto import modeling_auto as auto

    if model_type in auto.MODEL_FOR_ZERO_SHOT_IMAGE_CLASSIFICATION_MAPPING_NAMES:
        return "text+image"
    name = auto.MODEL_MAPPING_NAMES.get(model_type)
    name = name[0] if isinstance(name, (list, tuple)) else name
    try:
        main = getattr(getattr(transformers, name), "main_input_name", None) if name else None
    except Exception:   # an optional backend missing for that class: fall back to text
        main = None
    return MAIN_INPUTS.get(main, "text") if isinstance(main, str) else "text"


def _is_onnx_config(obj: Any) -> bool:
    from .onnx.base import OnnxConfig

    return isinstance(obj, OnnxConfig)


def _identify(model: Any) -> tuple[str | None, tuple[str, ...]]:
    """(model type, graph input names) of whatever ``model`` is; (None, ()) when unreadable."""
    if model is None:
        return None, ()
    if isinstance(model, (str, Path)):
        return _model_type_at(model), ()
    inputs = getattr(model, "inputs", None)
    names = tuple(inputs) if isinstance(inputs, dict) else ()
    config = getattr(model, "config", model)               # a transformers model, or a config
    model_type = getattr(model, "model_type", None) or getattr(config, "model_type", None)
    return (model_type if isinstance(model_type, str) else None), names


def _model_type_at(ref: str | Path) -> str | None:
    from .errors import ShapeprofError
    from .loading import load_config

    try:
        return str(load_config(str(ref)).model_type)
    except ShapeprofError:
        return None  # the text path reports a missing model in its own words


def _registered(model_type: str | None) -> type[OnnxConfig] | None:
    from .onnx.builtin import default_registry

    registry = default_registry()
    return registry.get(model_type) if model_type and model_type in registry else None
