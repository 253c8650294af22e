"""Model type -> ONNX config class, with the tasks each class supports.

A :class:`Registry` is a plain object: the default one holds the built-in
architectures plus third-party ones found through the ``shapeprof.onnx_configs``
entry-point group; tests pass isolated registries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from ..errors import ConfigError
from .tasks import normalize_task

if TYPE_CHECKING:
    from .base import OnnxConfig

C = TypeVar("C", bound="type[OnnxConfig]")

ENTRY_POINT_GROUP = "shapeprof.onnx_configs"


class Registry:
    """Maps a transformers ``model_type`` to the ONNX config class that exports it."""

    def __init__(self) -> None:
        self._classes: dict[str, type[OnnxConfig]] = {}

    def register(self, model_type: str, *tasks: str) -> Callable[[C], C]:
        """Class decorator: register ``cls`` for ``model_type`` and ``tasks``."""
        canonical = tuple(dict.fromkeys(normalize_task(t) for t in tasks))
        if not canonical:
            raise ConfigError(f"register({model_type!r}) needs at least one task")

        def decorate(cls: C) -> C:
            if model_type in self._classes:
                other = self._classes[model_type].__name__
                raise ConfigError(f"model type {model_type!r} is already registered to {other}")
            cls.MODEL_TYPE = model_type
            cls.SUPPORTED_TASKS = canonical
            self._classes[model_type] = cls
            return cls

        return decorate

    def get(self, model_type: str) -> type[OnnxConfig]:
        """The config class for ``model_type``; a one-line error lists the valid ones."""
        try:
            return self._classes[model_type]
        except KeyError:
            known = ", ".join(sorted(self._classes)) or "(none)"
            raise ConfigError(
                f"model type {model_type!r} is not supported; supported types: {known}"
            ) from None

    def tasks(self, model_type: str) -> tuple[str, ...]:
        return self.get(model_type).SUPPORTED_TASKS

    def check_task(self, model_type: str, task: str) -> str:
        """Canonical ``task`` if ``model_type`` supports it, else a ConfigError."""
        name = normalize_task(task)
        supported = self.tasks(model_type)
        if name not in supported:
            raise ConfigError(
                f"task {name!r} is not supported for {model_type!r}; "
                f"supported tasks: {', '.join(supported)}"
            )
        return name

    def __contains__(self, model_type: object) -> bool:
        return model_type in self._classes

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._classes))

    def __len__(self) -> int:
        return len(self._classes)

    def table(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """Rows of (model type, config class name, tasks), sorted by model type."""
        return [(mt, self._classes[mt].__name__, self._classes[mt].SUPPORTED_TASKS) for mt in self]

    def load_entry_points(self) -> None:
        """Call every ``shapeprof.onnx_configs`` entry point with this registry."""
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                ep.load()(self)
            except Exception as e:  # a broken plug-in must not hide the others' names
                raise ConfigError(f"entry point {ep.name!r} ({ep.value}) failed: {e}") from e


REGISTRY = Registry()
register = REGISTRY.register
_loaded = False


def default_registry() -> Registry:
    """The registry with all built-in architectures and installed plug-ins."""
    global _loaded
    if not _loaded:
        _loaded = True
        from . import models  # noqa: F401  (registers the built-ins)

        REGISTRY.load_entry_points()
    return REGISTRY
