"""Encoder-only text architectures, by class name; their rows are in :mod:`.architectures`."""

from __future__ import annotations

from .architectures import ENCODERS, classes

globals().update(classes(ENCODERS))
