"""Image architectures, by class name; their rows are in :mod:`.architectures`."""

from __future__ import annotations

from .architectures import IMAGES, classes

globals().update(classes(IMAGES))
