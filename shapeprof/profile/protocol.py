"""The one shape every profile has, whatever its modality.

Text (:class:`~shapeprof.profile.shape_profile.ShapeProfile`), image and audio
(:class:`~shapeprof.profile.media.MediaProfile`) and text+image pairs (a ``MediaProfile`` of
modality ``"text+image"``) all implement :class:`Profile`: the export reads trace shapes,
bounds and real batches from it, and the bench its batch sizes and axes, without asking which
kind it holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from .stats import AxisStats

    Bounds = dict[str, tuple[int, int | None]]
    Batch = tuple[str, dict[str, np.ndarray]]


@runtime_checkable
class Profile(Protocol):
    """Which shapes a dataset gives one model (see the module docstring)."""

    @property
    def modality(self) -> str:
        """"text", "image", "audio" or "text+image"."""

    @property
    def batch_sizes(self) -> tuple[int, ...]:
        """The batch sizes the profile was measured at."""

    @property
    def axes(self) -> Mapping[str, AxisStats]:
        """Statistics per model-input axis (batch size excluded)."""

    def trace_shapes(self) -> dict[str, int]:
        """Sizes to trace the export at: never 0 or 1 on a dynamic axis."""

    def bounds(self) -> Bounds:
        """The dynamic range (min, max or None) per axis."""

    def static_axes(self) -> dict[str, int]:
        """Axes with one size over the data, and that size."""

    def real_batches(self) -> list[Batch]:
        """Labelled feeds of real data, ready for the model (verification)."""

    def save(self, path: str | Path) -> Path:
        """Write the profile as versioned JSON."""

    def summary(self) -> str:
        """A markdown summary for people."""


PROFILE_CLASSES = ("ShapeProfile", "MediaProfile")


def load_profile(path: str | Path) -> Profile:
    """Any saved profile, of whichever modality its JSON says."""
    import json

    from ..errors import ProfileError

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ProfileError(f"profile file {str(path)!r} not found; create it with "
                           "'shapeprof profile -o PATH'") from e
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ProfileError(f"cannot read profile {str(path)!r} ({e}); re-run 'shapeprof profile'") from e
    return profile_from_dict(data)


def profile_from_dict(data: Mapping[str, Any]) -> Profile:
    """The profile class a saved mapping names (``kind: media``), else a text profile."""
    if isinstance(data, Mapping) and data.get("kind") == "media":
        from .media import MediaProfile

        return MediaProfile.from_dict(data)
    from .shape_profile import ShapeProfile

    return ShapeProfile.from_dict(data)


def is_media_profile(profile: Any) -> bool:
    """A profile object or saved mapping of image, audio or text+image data."""
    if isinstance(profile, Mapping):
        return profile.get("kind") == "media"
    return isinstance(profile, Profile) and profile.modality != "text"
