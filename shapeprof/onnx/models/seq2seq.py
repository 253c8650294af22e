"""Encoder-decoder architectures (text to text, speech to text), by class name; rows in :mod:`.architectures`."""

from __future__ import annotations

from .architectures import SEQ2SEQ, classes
from ..tasks import TEXT2TEXT_TASKS  # noqa: F401  (its home before tasks.py)

globals().update(classes(SEQ2SEQ))
