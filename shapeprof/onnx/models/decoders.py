"""Decoder-only text architectures, by class name; their rows are in :mod:`.architectures`."""

from __future__ import annotations

from .architectures import DECODERS, classes
from ..tasks import DECODER_TASKS  # noqa: F401  (its home before tasks.py)

globals().update(classes(DECODERS))
