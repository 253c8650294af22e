"""Derivation for audio-text-to-text models (LLaVA-style audio-language models).

Qwen2-Audio, Voxtral, AudioFlamingo 3, GLM-ASR, Qwen3-ASR, ... embed ``input_ids``, run
``input_features`` (a log-mel spectrogram) through their audio tower and projector, and scatter
the audio features into the positions holding the audio placeholder token
(``config.audio_token_id`` / ``audio_token_index``): as many placeholders as features. As for
images (:mod:`.vlm`, whose placeholder text generator this reuses), the derived config

- probes the audio tower (``get_audio_features``) for the feature size, the spectrogram layout,
  the fewest frames it runs at and the number of features per audio; the frame count fixes that
  number, so the frame and feature axes are static (and the frame mask, when the model takes
  one, covers every frame);
- makes dummy ``input_ids`` with that many placeholders per row and a padded ``attention_mask``
  that never hides one;
- keeps batch and text length dynamic (the length from placeholders + 2 up).

Voxtral Realtime has no placeholder: it adds one audio feature to each text position, so
the text length is static too (the audio's feature count).

Only ``feature-extraction`` is derived (``last_hidden_state`` of the language model over text
and audio positions). Models whose audio path needs more inputs (placeholder positions, raw
audio lengths, ...) are refused with the input named.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import numpy as np

from ..base import OnnxConfig, PatchingSpec
from ..dummy import DummyInputGenerator
from ..normalized import NormalizedConfig
from .families import Family, make_class
from .probe import PROBED, first_line, forward_params, preprocessor_inputs
from .speech import FEATURES, FRAMES, _feature_candidates
from .vlm import (TEXT_AROUND_IMAGE, PlaceholderTextGenerator, _checked_modules, _count, _no_check,
                  placeholder_token, probed_normalized, required_inputs, reserved_token_ids)

AUDIO_TOKEN_ATTRIBUTES = ("audio_token_id", "audio_token_index")
TASKS = ("feature-extraction",)
# Frame masks forward may take beside input_features (all ones: the frame count is static).
FRAME_MASKS = ("input_features_mask", "feature_attention_mask")
# Frame counts tried, fewest first; Whisper-style towers run only at 2 * max_source_positions.
PROBE_FRAMES = (16, 32, 64, 100, 128, 200, 400)


def audio_token_attribute(config: Any) -> str | None:
    """The config attribute naming the audio placeholder token (even when it is None)."""
    return next((a for a in AUDIO_TOKEN_ATTRIBUTES if a in vars(config) or hasattr(type(config), a)), None)


def is_audio_text_to_text(model: Any) -> bool:
    """A text-and-audio model that scatters audio features into placeholder tokens, or adds them."""
    config = model.config
    if getattr(config, "audio_config", None) is None or getattr(config, "text_config", None) is None:
        return False
    return audio_token_attribute(config) is not None or adds_audio(model)


def adds_audio(model: Any) -> bool:
    """Audio features added to the text embeddings position by position (Voxtral Realtime): no
    placeholder token, as many text positions as audio features. Two towers (CLAP) are not."""
    return ({"input_ids", "input_features"} <= set(forward_params(model)) and not hasattr(model, "get_text_features")
            and _audio_features_method(model) is not None)


# ---- dummy inputs --------------------------------------------------------------------------------

class NormalizedAudioTextConfig(NormalizedConfig):
    """Vocabulary and positions from ``text_config``; the derivation adds ``audio_tokens`` (features
    per audio), the placeholders it writes (under :class:`.vlm.PlaceholderTextGenerator`'s names
    ``image_token_id`` / ``image_tokens``; none when the audio is added), ``reserved_ids``,
    ``feature_size`` and ``num_frames``."""

    ATTRIBUTES = {"vocab_size": "text_config.vocab_size",
                  "max_position_embeddings": "text_config.max_position_embeddings"}
    DEFAULTS = {"max_position_embeddings": None, "reserved_ids": ()}


class SpectrogramGenerator(DummyInputGenerator):
    """``input_features`` in the probed layout and a frame mask of ones (one audio per row)."""

    SUPPORTED_INPUT_NAMES = ("input_features", *FRAME_MASKS)

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        cfg = self.normalized_config   # frames and features are static: the probed sizes
        batch, frames, features = self.shapes["batch_size"], int(cfg.num_frames), int(cfg.feature_size)
        if input_name in FRAME_MASKS:
            return np.ones((batch, frames), dtype=np.int64)
        shape = (batch, frames, features) if axes.get(1) == FRAMES else (batch, features, frames)
        return self.rng.standard_normal(shape, dtype=np.float32)


class AudioTextToTextOnnxConfig(OnnxConfig):
    """Text with one audio per row: dynamic batch and text length, static frames and features."""

    NORMALIZED_CONFIG_CLASS: ClassVar[type[NormalizedConfig]] = NormalizedAudioTextConfig
    DUMMY_INPUT_GENERATOR_CLASSES = (PlaceholderTextGenerator, SpectrogramGenerator)
    STATIC_AXES: ClassVar[tuple[str, ...]] = (FEATURES, FRAMES)
    CHECKED_MODULES: ClassVar[tuple[str, ...]] = ()   # as for images: torch_compilable_check skipped
    FRAMES_FIRST: ClassVar[bool] = False              # (batch, frames, features), else (batch, features, frames)
    FRAME_MASK: ClassVar[str | None] = None           # the frame mask forward takes, if any
    ADDED: ClassVar[bool] = False   # audio added position by position: the text length is the audio's

    def __init__(self, config: Any, task: str = "default", patching_specs: list[PatchingSpec] | None = None) -> None:
        super().__init__(config, task, patching_specs)
        for name in self.CHECKED_MODULES:
            self.patching_specs.append(PatchingSpec(importlib.import_module(name), "torch_compilable_check", _no_check))

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        text = {0: "batch_size", 1: "sequence_length"}
        layout = {1: FRAMES, 2: FEATURES} if self.FRAMES_FIRST else {1: FEATURES, 2: FRAMES}
        spec = {"input_ids": dict(text), "attention_mask": dict(text), "input_features": {0: "batch_size", **layout}}
        if self.FRAME_MASK:
            spec[self.FRAME_MASK] = {0: "batch_size", 1: FRAMES}
        return spec

    @property
    def audio_tokens(self) -> int:
        """Placeholder tokens per audio (the audio tower's features at the static frame count)."""
        return int(self._normalized_config.audio_tokens)

    def static_sizes(self) -> dict[str, int]:
        cfg = self._normalized_config
        text = {"sequence_length": self.audio_tokens} if self.ADDED else {}
        return {FEATURES: int(cfg.feature_size), FRAMES: int(cfg.num_frames), **text}

    def default_axis_sizes(self) -> dict[str, int]:
        return {"sequence_length": self.audio_tokens + 8, **self.static_sizes()}

    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        bounds = super().axis_bounds()
        bounds.update({axis: (size, size) for axis, size in self.static_sizes().items()})
        if "batch_size" in self.STATIC_AXES:
            bounds["batch_size"] = (1, 1)
        limit = self._normalized_config.get("max_position_embeddings")
        if not self.ADDED:
            bounds["sequence_length"] = (self.audio_tokens + TEXT_AROUND_IMAGE, int(limit) if limit else None)
        return bounds

    def verification_shapes(self, trace: Mapping[str, int]) -> list[tuple[str, dict[str, int]]]:
        """One row at the shortest text; the trace; three rows with a longer text."""
        bounds = self.axis_bounds()
        small = {a: bounds[a][0] for a in trace}
        longer = bounds["sequence_length"][1] if self.ADDED else self.audio_tokens + 64
        large = dict(trace, batch_size=bounds["batch_size"][1] or 3, sequence_length=longer)
        return [("smallest", small), ("trace", dict(trace)), ("large", large)]


# ---- the family ----------------------------------------------------------------------------------

class AudioProbe(NamedTuple):
    """What one audio through ``get_audio_features`` says."""

    feature_attr: str | None   # config attribute holding the feature size (None: a literal)
    feature_size: int
    frames: int                # the fewest frames of PROBE_FRAMES the tower runs at
    frames_first: bool
    audio_tokens: int          # features per audio = placeholders per audio
    per_audio: bool            # features come as a list per audio (unrolled at the traced batch)


class AudioTextToText(Family):
    BASE = AudioTextToTextOnnxConfig

    @classmethod
    def derive(cls, model: Any, task: str) -> type[OnnxConfig]:
        config = model.config
        if task not in TASKS:
            raise cls.fail(model, task, "task", "only feature-extraction is derived for an audio-text-to-text "
                           "model (generation needs an audio graph and a decoder with past); pass --task "
                           "feature-extraction")
        added = audio_token_attribute(config) is None
        token_attr, token = (None, None) if added else cls.audio_token(model, task)
        mask = next((m for m in FRAME_MASKS if m in forward_params(model)), None)
        inputs = cls.inputs(model, task, mask)
        audio = cls.audio_features(model, task, token)
        draft = make_class(cls.BASE, config.model_type, (), CHECKED_MODULES=_checked_modules(model),
                           NORMALIZED_CONFIG_CLASS=_normalized(model, token_attr, audio),
                           STATIC_AXES=cls.static_axes(audio, added), FRAMES_FIRST=audio.frames_first,
                           FRAME_MASK=mask, ADDED=added)
        tokens, static = audio.audio_tokens, audio.per_audio
        base = {"batch_size": 1 if static else 2, "sequence_length": tokens if added else tokens + 3}
        moved = {**({} if added else {"sequence_length": tokens + 6}), **({} if static else {"batch_size": 3})}
        axes, fixed = cls.probe(model, draft, task, base, moved)
        return cls.finish(draft, task, axes, fixed, preprocessor=preprocessor_inputs(config.model_type)[0],
                          feature_extractor=preprocessor_inputs(config.model_type, "audio")[0], inputs=inputs,
                          audio_token=f"{token_attr}={token}" if token_attr else None, audio_tokens=tokens,
                          feature_size=audio.feature_size, num_frames=audio.frames,
                          frames_first=audio.frames_first, static_axes=list(draft.STATIC_AXES),
                          static_because=cls.why_static(audio, added))

    @staticmethod
    def static_axes(audio: AudioProbe, added: bool) -> tuple[str, ...]:
        text = ("sequence_length",) if added else ()
        return (FEATURES, FRAMES, *text, "batch_size") if audio.per_audio else (FEATURES, FRAMES, *text)

    @staticmethod
    def why_static(audio: AudioProbe, added: bool) -> str:
        spectrogram = f"{audio.frames} frames of {audio.feature_size} features"
        why = (f"{spectrogram} give {audio.audio_tokens} audio features, added to the text embeddings position "
               "by position (no placeholder token): the text length is the audio's" if added else
               f"{spectrogram} fix the number of audio placeholder tokens ({audio.audio_tokens} per audio)")
        if audio.per_audio:
            why += ("; get_audio_features returns one tensor per audio in a list, which torch.export unrolls "
                    "at the traced batch, so the batch is 1")
        return why

    @classmethod
    def inputs(cls, model: Any, task: str, mask: str | None) -> list[str]:
        given = {"input_ids", "attention_mask", "input_features"} | ({mask} if mask else set())
        return required_inputs(cls, model, task, given)

    @classmethod
    def audio_token(cls, model: Any, task: str) -> tuple[str, int]:
        return placeholder_token(cls, model, task, "audio", audio_token_attribute(model.config),
                                 AUDIO_TOKEN_ATTRIBUTES)

    @classmethod
    def audio_features(cls, model: Any, task: str, token: int | None) -> AudioProbe:
        """The audio tower on one audio: the first feature size, layout and frame count it runs at."""
        features = _audio_features_method(model)
        if features is None:
            raise cls.fail(model, task, "audio tower", "the model has no get_audio_features or audio_tower to "
                           "probe")
        takes_mask, needs_ids, unset = cls.tower_inputs(model, task, features)
        if unset:   # as forward calls it without them
            features = functools.partial(features, **dict.fromkeys(unset))
        if needs_ids:   # placeholder positions (MusicFlamingo's time embedding): counted on the tower first
            tower = _tower_features(model)
            if tower is None or token is None:
                raise cls.fail(model, task, "audio tower", "get_audio_features requires 'input_ids' and the model "
                               "has no audio_tower to count its placeholders on")
            features = _with_placeholders(features, tower, token)
        audio = model.config.audio_config
        candidates = _feature_candidates(audio, None)
        frames = sorted({*PROBE_FRAMES, 2 * int(getattr(audio, "max_source_positions", 0) or 0)} - {0})
        errors: dict[str, str] = {}
        for attr, size in candidates:
            for frames_first in (False, True):
                for count in frames:
                    found = _try(features, size, count, frames_first, takes_mask, errors)
                    if found is not None:
                        tokens, per_audio = found
                        return AudioProbe(f"audio_config.{attr}" if attr else None, size, count, frames_first,
                                          tokens, per_audio)
        sizes = ", ".join(str(s) for _, s in candidates) or "none"
        last = "; ".join(f"{layout}: {error}" for layout, error in errors.items()) or "no feature size found"
        raise cls.fail(model, task, "audio tower", f"get_audio_features runs at no frame count of {frames} "
                       f"(feature sizes {sizes}); at {frames[-1]} frames, {last}")

    @classmethod
    def tower_inputs(cls, model: Any, task: str, features: Any) -> tuple[bool, bool, list[str]]:
        """Whether get_audio_features takes a frame mask, and requires ``input_ids``; the inputs it
        requires that forward takes as optional (forward passes them on as None when absent:
        MOSS's ``padding_mask``); fails when it requires other inputs the derived ones cannot give."""
        params = inspect.signature(features).parameters.values()
        named = [p for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        masks = [p.name for p in named if p.name in FRAME_MASKS]
        given = ("input_features", "input_ids", *masks)
        optional = {n for n, required in forward_params(model).items() if not required}
        missing = [p.name for p in named if p.default is p.empty and p.name not in given]
        unset = [n for n in missing if n in optional]
        missing = [n for n in missing if n not in optional]
        if missing:
            raise cls.fail(model, task, "audio tower", f"get_audio_features requires "
                           f"{', '.join(map(repr, missing))}, which the derived inputs do not provide")
        return bool(masks), any(p.name == "input_ids" and p.default is p.empty for p in named), unset


def _try(features: Any, size: int, frames: int, frames_first: bool, takes_mask: bool,
         errors: dict[str, str]) -> tuple[int, bool] | None:
    """(features per audio, per-audio list) from one audio, or None (the error kept per layout)."""
    import torch

    shape = (1, frames, size) if frames_first else (1, size, frames)
    extra = {"input_features_mask": torch.ones((1, frames), dtype=torch.long)} if takes_mask else {}
    try:
        with torch.no_grad():
            out = features(input_features=torch.randn(shape), **extra)
        tokens, per_audio = _count(out)
    except Exception as e:   # the other layout, too few frames, or the model's own error
        errors["(frames, features)" if frames_first else "(features, frames)"] = first_line(e)
        return None
    return (tokens, per_audio) if tokens >= 1 else None


def _normalized(model: Any, token_attr: str | None, audio: AudioProbe) -> type[NormalizedConfig]:
    """The normalized config with the probed values (placeholders per audio, spectrogram, ids)."""
    config = model.config
    values: dict[str, Any] = {"audio_tokens": audio.audio_tokens, "image_tokens": audio.audio_tokens if token_attr
                              else 0, "num_frames": audio.frames, "reserved_ids": reserved_token_ids(config)}
    if token_attr is None:   # added audio: no placeholder written
        values["image_token_id"] = 0
    attrs = {**NormalizedAudioTextConfig.ATTRIBUTES, **dict.fromkeys(values, PROBED)}
    if token_attr is not None:
        attrs["image_token_id"] = token_attr
    if audio.feature_attr:
        attrs[FEATURES] = audio.feature_attr
    else:
        attrs[FEATURES], values[FEATURES] = PROBED, audio.feature_size
    return probed_normalized(NormalizedAudioTextConfig, model, attrs, values, __name__)


def _audio_features_method(model: Any) -> Any:
    """``get_audio_features``, else the audio tower's ``last_hidden_state`` (Qwen2-Audio projects it
    without pooling: as many features as tower positions; the forward probe checks the count)."""
    owners = (model, getattr(model, "model", None))
    method = next((o.get_audio_features for o in owners if hasattr(o, "get_audio_features")), None)
    return method if method is not None else _tower_features(model)


def _tower_features(model: Any) -> Any:
    owners = (model, getattr(model, "model", None))
    tower = next((o.audio_tower for o in owners if hasattr(o, "audio_tower")), None)
    if tower is None:
        return None

    takes = set(inspect.signature(tower.forward).parameters)

    def tower_features(input_features: Any, **kwargs: Any) -> Any:   # the frame mask, if the tower takes it
        given = {k: v for k, v in kwargs.items() if k in takes}
        return tower(input_features, return_dict=True, **given).last_hidden_state

    return tower_features


def _with_placeholders(features: Any, tower: Any, token: int) -> Any:
    """``features`` called with ``input_ids`` holding as many placeholders as tower positions."""
    import torch

    def probe(input_features: Any, **kwargs: Any) -> Any:
        count = _count(tower(input_features, **kwargs))[0]
        ids = torch.full((1, count + 2), 1 if token == 0 else 0, dtype=torch.long)
        ids[0, 1:1 + count] = token
        return features(input_features=input_features, input_ids=ids, **kwargs)

    return probe
