"""A config derived from the model itself, for architectures nobody registered.

``derive_onnx_config(config_or_model, task)`` picks the level-2 class for the model's
family (text encoder, decoder, encoder-decoder, image, raw audio) and fills in what a
registry row would say, by asking the model:

- inputs: the names its preprocessor class produces (tokenizer, image processor, feature
  extractor) that ``forward`` accepts; a required ``forward`` argument nobody provides fails;
- attribute names: vocabulary from the input embedding, layers / key-value heads / head
  size from a real ``use_cache=True`` forward pass, each mapped to the config attribute
  holding that value (or kept as a probed literal when none does);
- axes: the model runs at a base shape and once per moved axis; every output dimension is
  named after the axis it follows, or reported static with its size;
- graph form: attention is exported in the fusable form only when a probe shows the model's
  attention goes through transformers' ``AttentionInterface`` and gives the same outputs.

The result is an ordinary subclass of the level-2 class: inspect it, or register it
(``registry.register(model_type, task)(cls)``). Its ``DERIVATION`` says what was probed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..tasks import auto_class, normalize_task
from .probe import PROBED, DeriveError, first_line, preprocessor_inputs, registration_hint

if TYPE_CHECKING:
    from ..base import OnnxConfig

__all__ = ["PROBED", "DeriveError", "derive_onnx_config", "preprocessor_inputs", "registration_hint"]


# ---- the public entry point --------------------------------------------------------------------

def derive_onnx_config(config_or_model: Any, task: str = "feature-extraction") -> type[OnnxConfig]:
    """An ``OnnxConfig`` subclass for ``config_or_model`` (a transformers config or model) and ``task``.

    A config is instantiated with the task's auto class (random weights: only shapes are probed).
    A decoder without a key/value cache (none, recurrent or hybrid layers) asked for a
    ``-with-past`` task falls back to the task without past: the class's ``SUPPORTED_TASKS`` then
    names that task and ``DERIVATION["fallback"]`` says why.
    """
    task = normalize_task(task)
    model = _model_for(config_or_model, task)
    family = _family(model, task)
    from .experts import looped_experts, with_exportable_experts

    if (looped := looped_experts(model)) is not None:
        raise DeriveError(model.config.model_type, task, "experts", f"{looped}.forward loops over the experts "
                          "its tokens are routed to (a loop of data-dependent length, which torch.export "
                          "cannot trace)", family.BASE.__name__)
    return with_exportable_experts(model, family.derive(model, task))


def _model_for(config_or_model: Any, task: str) -> Any:
    import torch

    if isinstance(config_or_model, torch.nn.Module):
        return config_or_model.eval()
    config = config_or_model
    model_type = getattr(config, "model_type", None) or type(config).__name__
    try:
        with _seed(0):
            return auto_class(task, model_type).from_config(config).eval()
    except Exception as e:  # ValueError (no head for the type), errors from the model's __init__
        raise DeriveError(model_type, task, "building the model", first_line(e)) from e


@contextlib.contextmanager
def _seed(seed: int) -> Iterator[None]:
    import torch

    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.random.set_rng_state(state)


def _family(model: Any, task: str) -> Any:
    from . import audio_llm, families, side_inputs, towers, video, vlm

    if vlm.is_image_text_to_text(model):   # placeholder tokens filled with image features (LLaVA-style)
        from . import grid_vlm   # Qwen2-VL style: flattened patches of one fixed grid, M-RoPE

        return grid_vlm.GridImageTextToText if grid_vlm.is_grid_vlm(model) else vlm.ImageTextToText
    if audio_llm.is_audio_text_to_text(model):   # the same with audio features (Qwen2-Audio, Voxtral)
        return audio_llm.AudioTextToText
    extra = side_inputs.family(model, task)   # one more input the model says how to fill
    if extra is not None:
        return extra
    special = towers.family(model, task)   # two towers, layout, tables, pooled; clean refusals
    if special is not None:
        return special
    config = model.config
    main = getattr(model, "main_input_name", "input_ids")
    model_type = config.model_type
    if getattr(config, "vision_config", None) is not None and getattr(config, "text_config", None) is not None:
        raise DeriveError(model_type, task, "family", "a text-and-image model (two towers) is not derived",
                          "TextAndVisionOnnxConfig")
    if getattr(config, "is_encoder_decoder", False):
        if main in ("input_features", "input_values"):
            from . import speech_seq2seq

            return speech_seq2seq.SpeechSeq2Seq
        if main != "input_ids":
            raise DeriveError(model_type, task, "family", f"an encoder-decoder taking {main!r} (speech or "
                              "image to text) is not derived", "AudioToTextOnnxConfig")
        return families.Seq2Seq
    if main == "pixel_values":
        return video.Video if video.is_video(model) else families.Vision
    if main == "input_values":
        return families.Audio
    if main == "input_features":
        from . import speech

        return speech.Spectrogram
    if main != "input_ids":
        raise DeriveError(model_type, task, "family", f"its main input {main!r} has no derivable "
                          "preprocessor", "OnnxConfig")
    if task.startswith("text-generation") or _is_decoder_only(model_type):
        return families.Decoder
    return families.Encoder


def _is_decoder_only(model_type: str) -> bool:
    from transformers.models.auto import modeling_auto as auto

    return (model_type in auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
            and model_type not in auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES)


