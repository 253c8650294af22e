"""Model type -> ONNX config class: a table of :class:`Architecture` rows.

A row says which config class exports a ``model_type``, for which tasks, and the
few class attributes that differ (attribute names, input names, tolerances). The
class ``Registry.get`` returns is made from the row, so one config class can serve
many rows and a rename-only architecture is one line of data.

A :class:`Registry` is a plain object: the default one holds the built-in rows
(:mod:`shapeprof.onnx.models.architectures`) plus third-party ones found through
the ``shapeprof.onnx_configs`` entry-point group; tests pass isolated registries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ..errors import ConfigError
from .tasks import normalize_task

if TYPE_CHECKING:
    from .base import OnnxConfig

C = TypeVar("C", bound="type[OnnxConfig]")

ENTRY_POINT_GROUP = "shapeprof.onnx_configs"
log = logging.getLogger(__name__)

LISTED_INLINE = 12   # an unknown type's error lists the registered ones up to this many


def canonical_tasks(model_type: str, tasks: Iterable[str]) -> tuple[str, ...]:
    """Canonical task names, deduplicated in order; at least one."""
    canonical = tuple(dict.fromkeys(normalize_task(t) for t in tasks))
    if not canonical:
        raise ConfigError(f"architecture {model_type!r} needs at least one task")
    return canonical


@dataclass(frozen=True)
class Architecture:
    """One registered architecture: data, not a class body.

    ``config_class`` is a level-2 class (or a level-3 one where behaviour differs);
    ``overrides`` are class attributes that differ for this architecture, e.g.
    ``NORMALIZED_CONFIG_CLASS``, ``TEXT_INPUTS``, ``STATIC_AXES``, ``ATOL_FOR_VALIDATION``.
    ``name`` and ``module`` name the class made from the row (default: ``config_class``'s).
    """

    model_type: str
    config_class: type[OnnxConfig]
    tasks: tuple[str, ...]
    overrides: Mapping[str, Any] = field(default_factory=dict, hash=False)
    name: str = ""
    module: str = ""

    def __post_init__(self) -> None:
        unknown = sorted(k for k in self.overrides if not hasattr(self.config_class, k))
        if unknown:
            raise ConfigError(f"architecture {self.model_type!r}: {self.config_class.__name__} has no "
                              f"attribute {', '.join(unknown)}; overrides change existing class attributes")
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, "tasks", canonical_tasks(self.model_type, self.tasks))
        set_(self, "overrides", MappingProxyType(dict(self.overrides)))
        set_(self, "name", self.name or self.config_class.__name__)
        set_(self, "module", self.module or self.config_class.__module__)

    @cached_property
    def config(self) -> type[OnnxConfig]:
        """The class for this row: a subclass of ``config_class`` carrying the row's data.

        Made once per row; ``config_class`` itself is never changed, so rows sharing it
        keep their own ``MODEL_TYPE`` and ``SUPPORTED_TASKS``.
        """
        attrs = {"__module__": self.module, "__qualname__": self.name, "__doc__": self._doc(),
                 "MODEL_TYPE": self.model_type, "SUPPORTED_TASKS": self.tasks, **self.overrides}
        return type(self.name, (self.config_class,), attrs)

    def _doc(self) -> str:
        changes = ", ".join(f"{k}={v!r}" for k, v in self.overrides.items())
        return (f"{self.model_type!r} exported by {self.config_class.__name__}"
                + (f" with {changes}" if changes else "") + f"; tasks: {', '.join(self.tasks)}.")


@dataclass(frozen=True)
class PluginFailure:
    """A ``shapeprof.onnx_configs`` entry point that failed to load or register."""

    name: str
    value: str
    error: str

    def __str__(self) -> str:
        return f"plug-in {self.name!r} ({self.value}) failed and was skipped: {self.error}"


class Registry:
    """Maps a transformers ``model_type`` to the ONNX config class that exports it."""

    def __init__(self, rows: Iterable[Architecture] = ()) -> None:
        self._rows: dict[str, Architecture] = {}
        self.failures: list[PluginFailure] = []  # plug-ins that failed; see load_entry_points
        self.extend(rows)

    def extend(self, rows: Iterable[Architecture]) -> None:
        """Register several rows: all of them, or none when one fails."""
        before = dict(self._rows)
        try:
            for row in rows:
                self.add(row)
        except Exception:
            self._rows = before
            raise

    def add(self, row: Architecture) -> type[OnnxConfig]:
        """Register one row; returns the class ``get`` will give for it."""
        if row.model_type in self._rows:
            other = self._rows[row.model_type].name
            raise ConfigError(f"model type {row.model_type!r} is already registered to {other}")
        self._rows[row.model_type] = row
        return row.config

    def register(self, model_type: str, *tasks: str) -> Callable[[C], C]:
        """Class decorator: register ``cls`` for ``model_type`` and ``tasks``.

        Returns the row's class (a subclass of ``cls`` with ``MODEL_TYPE`` and
        ``SUPPORTED_TASKS``); ``cls`` itself is left unchanged.
        """
        canonical = canonical_tasks(model_type, tasks)

        def decorate(cls: C) -> C:
            row = Architecture(model_type, cls, canonical, name=cls.__name__, module=cls.__module__)
            return cast(C, self.add(row))

        return decorate

    def architecture(self, model_type: str) -> Architecture:
        """The row for ``model_type``; a one-line error says where the valid ones are."""
        try:
            return self._rows[model_type]
        except KeyError:
            skipped = "".join(f"; {f}" for f in self.failures)
            raise ConfigError(f"model type {model_type!r} is not registered ({self._known()}){skipped}") from None

    def _known(self) -> str:
        """The registered types when they fit in a line, else where to see them."""
        if len(self._rows) <= LISTED_INLINE:
            return "registered: " + (", ".join(sorted(self._rows)) or "none")
        return f"{len(self._rows)} types are; 'shapeprof list' shows them"

    def get(self, model_type: str) -> type[OnnxConfig]:
        """The config class for ``model_type``, usable as ``cls(config, task=...)``."""
        return self.architecture(model_type).config

    def tasks(self, model_type: str) -> tuple[str, ...]:
        return self.architecture(model_type).tasks

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
        return model_type in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._rows))

    def __len__(self) -> int:
        return len(self._rows)

    def table(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """Rows of (model type, config class name, tasks), sorted by model type."""
        return [(mt, self._rows[mt].name, self._rows[mt].tasks) for mt in self]

    def load_entry_points(self) -> list[PluginFailure]:
        """Call every ``shapeprof.onnx_configs`` entry point with this registry.

        A plug-in that raises leaves the registry exactly as it was before that plug-in;
        the others still load. Each failure is logged as one line, kept in ``failures``
        (and named in unknown-model-type errors), and returned.
        """
        from importlib.metadata import entry_points

        failed = []
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            before = dict(self._rows)
            try:
                ep.load()(self)
            except Exception as e:  # any plug-in bug: roll back, report, load the rest
                self._rows = before
                first = str(e).strip().splitlines()[0] if str(e).strip() else ""
                failed.append(PluginFailure(ep.name, ep.value, f"{type(e).__name__}: {first}".rstrip(": ")))
                log.warning("shapeprof: %s", failed[-1])
        self.failures += failed
        return failed


REGISTRY = Registry()
register = REGISTRY.register
