"""The default registry: the built-in architectures table, then installed plug-ins.

Kept apart from :mod:`.registry` so the registry knows no architecture (the table
imports the registry's row type, not the other way round).
"""

from __future__ import annotations

from .registry import REGISTRY, Registry

_loaded = False


def default_registry() -> Registry:
    """The registry with all built-in architectures and installed plug-ins."""
    global _loaded
    if not _loaded:
        from .models.architectures import ARCHITECTURES

        REGISTRY.extend(ARCHITECTURES)
        _loaded = True
        REGISTRY.load_entry_points()
    return REGISTRY
