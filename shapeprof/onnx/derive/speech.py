"""Derivation for speech models taking spectrogram features (``input_features``).

Encoders and CTC heads (Parakeet, LASR, Wav2Vec2-BERT, ...) take ``input_features`` of shape
(batch, frames, feature size) or (batch, feature size, frames), and often a frame mask. The
probe finds the feature size (the config attribute or feature extractor value the model runs
with), the layout, whether the mask is taken, and the fewest frames the model runs at; the frame
axis is dynamic, the feature axis static. Generative speech models are refused here with the
part that fails (see :func:`refusal`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ..audio import AudioOnnxConfig
from ..base import OnnxConfig
from ..dummy import DummyInputGenerator, padded_mask
from ..normalized import NormalizedConfig
from .families import Family, make_class
from .probe import check_required, forward_params, preprocessor_inputs, run

FRAMES = "num_frames"
FEATURES = "feature_size"
# Config attributes naming the feature size, searched on the config and its audio sub-configs.
FEATURE_ATTRIBUTES = ("num_mel_bins", "feature_size", "feature_projection_input_dim", "input_feat_size",
                      "input_feat_per_channel", "n_mels", "num_mel_filters", "input_dim", "model_in_dim")
SUB_CONFIGS = ("", "encoder_config", "audio_config")
PROBE_FRAMES = (16, 24, 32, 48, 64, 96, 128)   # smallest frame counts tried, in order
TRACE_FRAMES = 64


class DummySpectrogramFeaturesGenerator(DummyInputGenerator):
    """``input_features`` in the layout of its axes (feature axis static) and a padded frame mask."""

    SUPPORTED_INPUT_NAMES = ("input_features", "attention_mask")

    def generate(self, input_name: str, axes: Mapping[int, str]) -> np.ndarray:
        batch, frames = self.shapes["batch_size"], self.shapes[FRAMES]
        if input_name == "attention_mask":
            return padded_mask((batch, frames))
        features = int(self.normalized_config.feature_size)
        shape = (batch, frames, features) if axes.get(1) == FRAMES else (batch, features, frames)
        return self.rng.standard_normal(shape, dtype=np.float32)


class SpectrogramFeaturesOnnxConfig(AudioOnnxConfig):
    """Spectrogram encoders: dynamic batch and frames, a static feature axis, an optional mask."""

    DUMMY_INPUT_GENERATOR_CLASSES = (DummySpectrogramFeaturesGenerator,)
    STATIC_AXES = (FEATURES,)
    FRAMES_FIRST: ClassVar[bool] = True     # (batch, frames, features), else (batch, features, frames)
    TAKES_MASK: ClassVar[bool] = False
    MIN_FRAMES: ClassVar[int] = 2

    @property
    def inputs(self) -> dict[str, dict[int, str]]:
        layout = {1: FRAMES, 2: FEATURES} if self.FRAMES_FIRST else {1: FEATURES, 2: FRAMES}
        spec = {"input_features": {0: "batch_size", **layout}}
        if self.TAKES_MASK:
            spec["attention_mask"] = {0: "batch_size", 1: FRAMES}
        return spec

    def default_axis_sizes(self) -> dict[str, int]:
        return {FEATURES: int(self._normalized_config.feature_size), FRAMES: max(TRACE_FRAMES, self.MIN_FRAMES)}

    def min_audio_length(self) -> int:
        return self.MIN_FRAMES

    def axis_bounds(self) -> dict[str, tuple[int, int | None]]:
        features = int(self._normalized_config.feature_size)
        return {"batch_size": (1, None), FRAMES: (self.MIN_FRAMES, None), FEATURES: (features, features)}

    def verification_shapes(self, trace: Mapping[str, int]) -> list[tuple[str, dict[str, int]]]:
        small = {**trace, "batch_size": 1, FRAMES: self.MIN_FRAMES}
        large = {**trace, "batch_size": 3, FRAMES: 2 * trace[FRAMES]}
        return [("smallest", small), ("trace", dict(trace)), ("large", large)]


def _feature_candidates(config: Any, extractor_size: int | None) -> list[tuple[str | None, int]]:
    """(config attribute or None for a literal, size) candidates for the feature axis, in order."""
    found: list[tuple[str | None, int]] = []
    for sub in SUB_CONFIGS:
        owner = getattr(config, sub, None) if sub else config
        for attr in FEATURE_ATTRIBUTES:
            value = getattr(owner, attr, None) if owner is not None else None
            if isinstance(value, int) and value > 1 and value not in [v for _, v in found]:
                found.append((f"{sub}.{attr}" if sub else attr, value))
    if extractor_size and extractor_size > 1 and extractor_size not in [v for _, v in found]:
        found.append((None, extractor_size))
    return found


def _extractor_feature_size(model_type: str) -> int | None:
    from transformers.models.auto import auto_mappings
    from transformers.models.auto.feature_extraction_auto import feature_extractor_class_from_name

    name = auto_mappings.FEATURE_EXTRACTOR_MAPPING_NAMES.get(model_type)
    try:
        size = getattr(feature_extractor_class_from_name(name)(), "feature_size", None) if name else None
    except Exception:   # an extractor needing arguments or an optional backend: no candidate
        return None
    return int(size) if isinstance(size, int) else None


class Spectrogram(Family):
    """Encoders and CTC models whose main input is ``input_features``."""

    BASE: ClassVar[type[OnnxConfig]] = SpectrogramFeaturesOnnxConfig
    MASK: ClassVar[bool] = True     # export the frame mask when the model and its extractor take one

    @classmethod
    def derive(cls, model: Any, task: str) -> type[OnnxConfig]:
        config = model.config
        preprocessor, names = preprocessor_inputs(config.model_type, "audio")
        params = forward_params(model)
        mask = "attention_mask" in params and (not names or "attention_mask" in names) and cls.MASK
        check_required(model, task, {"input_features", "attention_mask"} if mask else {"input_features"},
                       cls.BASE.__name__)
        draft, tried = None, []
        for attr, size in _feature_candidates(config, _extractor_feature_size(config.model_type)):
            for frames_first in (True, False):
                candidate = cls.draft(config, attr, size, frames_first, mask)
                frames = cls.smallest_frames(model, candidate, task)
                tried.append(f"{size} ({'frames, features' if frames_first else 'features, frames'})")
                if frames is not None:
                    draft = candidate
                    draft.MIN_FRAMES = frames
                    break
            if draft is not None:
                break
        if draft is None:
            raise cls.fail(model, task, "inputs", f"the model runs on no 'input_features' of feature size and "
                           f"layout {', '.join(tried[:6]) or '(no candidate)'}")
        trace = max(TRACE_FRAMES, draft.MIN_FRAMES)
        base = {"batch_size": 2, FRAMES: trace}
        moved = {"batch_size": 3, FRAMES: trace + 32}
        axes, fixed = cls.probe(model, draft, task, base, moved)
        return cls.finish(draft, task, axes, fixed, preprocessor=preprocessor, inputs=list(draft(config, task).inputs),
                          feature_size=int(draft(config, task)._normalized_config.feature_size),
                          frames_first=draft.FRAMES_FIRST, min_frames=draft.MIN_FRAMES)

    @classmethod
    def draft(cls, config: Any, attr: str | None, size: int, frames_first: bool, mask: bool) -> type[OnnxConfig]:
        normalized = type("DerivedSpectrogramConfig", (NormalizedConfig,), {
            "ATTRIBUTES": {FEATURES: attr or "(probed)"}, "DEFAULTS": {} if attr else {FEATURES: size},
            "__module__": __name__})
        return make_class(cls.BASE, config.model_type, (), NORMALIZED_CONFIG_CLASS=normalized,
                          FRAMES_FIRST=frames_first, TAKES_MASK=mask)

    @staticmethod
    def smallest_frames(model: Any, draft: type[OnnxConfig], task: str) -> int | None:
        """The fewest frames (of ``PROBE_FRAMES``) giving two or more output positions, or None when
        the model runs at none of them in this layout."""
        cfg = draft(model.config, task=task)
        name = next(iter(cfg.outputs))
        for frames in PROBE_FRAMES:
            try:
                out = run(model, cfg, {"batch_size": 2, FRAMES: frames})[name]
            except Exception:   # too few frames for the subsampling, or the wrong layout
                continue
            if out.dim() < 2 or out.shape[1] >= 2:
                return frames
        return None
