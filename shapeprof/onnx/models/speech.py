"""Raw-audio speech encoders, by class name; their rows are in :mod:`.architectures`."""

from __future__ import annotations

from .architectures import SPEECH, classes

globals().update(classes(SPEECH))
