"""``shapeprof list``: the supported architectures x tasks, from the registry.

The ``static axes`` column names the axes an architecture fixes to its config's
size (e.g. ``height,width`` for ViT); every other input axis is exported dynamic.
"""

from __future__ import annotations

import argparse
from typing import Any

Row = tuple[str, str, tuple[str, ...], tuple[str, ...]]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("list", help="list supported architectures, tasks and static axes")
    p.add_argument("--format", choices=("table", "csv"), default="table")
    p.set_defaults(run=run)


def rows() -> list[Row]:
    """(model type, config class, tasks, static axes) per registered architecture."""
    from ..onnx.builtin import default_registry

    registry = default_registry()
    return [(mt, cls, tasks, tuple(registry.get(mt).STATIC_AXES)) for mt, cls, tasks in registry.table()]


def run(args: argparse.Namespace) -> int:
    print(render(rows(), args.format))
    return 0


def render(table: list[Row] | list[tuple[str, str, tuple[str, ...]]], fmt: str = "table") -> str:
    """Architectures as rows, every task seen as a column, ``x`` where supported; then static axes."""
    full = [(*r, ()) if len(r) == 3 else r for r in table]
    tasks = list(dict.fromkeys(t for _, _, ts, _ in full for t in ts))
    if fmt == "csv":
        lines = [",".join(["model_type", "config_class", *tasks, "static_axes"])]
        lines += [",".join([mt, cls, *("1" if t in ts else "0" for t in tasks), " ".join(st)])
                  for mt, cls, ts, st in full]
        return "\n".join(lines)
    header = ["model type", "config class", *tasks, "static axes"]
    body = [[mt, cls, *("x" if t in ts else "" for t in tasks), ",".join(st) or "-"]
            for mt, cls, ts, st in full]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    fmt_row = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt_row(header), fmt_row(["-" * w for w in widths]), *map(fmt_row, body)])
