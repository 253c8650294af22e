"""``shapeprof list``: the supported architectures x tasks, from the registry."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("list", help="list supported architectures and tasks")
    p.add_argument("--format", choices=("table", "csv"), default="table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..registry import default_registry

    print(render(default_registry().table(), args.format))
    return 0


def render(rows: list[tuple[str, str, tuple[str, ...]]], fmt: str = "table") -> str:
    """Architectures as rows, every task seen as a column, ``x`` where supported."""
    tasks = list(dict.fromkeys(t for _, _, ts in rows for t in ts))
    if fmt == "csv":
        lines = [",".join(["model_type", "config_class", *tasks])]
        lines += [",".join([mt, cls, *("1" if t in ts else "0" for t in tasks)]) for mt, cls, ts in rows]
        return "\n".join(lines)
    header = ["model type", "config class", *tasks]
    body = [[mt, cls, *("x" if t in ts else "" for t in tasks)] for mt, cls, ts in rows]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    fmt_row = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt_row(header), fmt_row(["-" * w for w in widths]), *map(fmt_row, body)])
