"""Text-and-image and text-and-layout architectures, by class name; their rows are in :mod:`.architectures`."""

from __future__ import annotations

from .architectures import MULTIMODAL, classes
from ..tasks import LAYOUT_TASKS  # noqa: F401  (its home before tasks.py)

globals().update(classes(MULTIMODAL))
