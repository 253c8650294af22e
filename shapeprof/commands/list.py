"""``shapeprof list``: the registered architectures, their modality, tasks and static axes.

The table fits a 100-column terminal: tasks (a ``-with-past`` twin shown as ``(+past)``) and
the static axes are a comma list wrapped under their column; config classes are in the JSON.
``--task`` and ``--modality`` filter rows; ``--format json`` (``--json``) and ``csv`` are for tools.
Architectures nobody registered are not listed: their configs are derived from the model at
export time (``shapeprof export --config auto``), so the footer says so.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from typing import Any

# (model type, config class, tasks, static axes, modality)
Row = tuple[str, str, tuple[str, ...], tuple[str, ...], str]
WIDTH = 100
FOOTER = ("Any other transformers architecture: 'shapeprof export --config auto' derives its config "
          "from the model (inputs, axes and cache probed, then verified).")


def add_parser(sub: Any) -> None:
    from ..modality import MODALITIES

    p = sub.add_parser("list", help="list registered architectures: modality, tasks, static axes")
    p.add_argument("--task", "-t", default=None, help="only architectures supporting this task")
    p.add_argument("--modality", choices=MODALITIES, default=None, help="only architectures of this modality")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--json", dest="format", action="store_const", const="json", help="same as --format json")
    p.set_defaults(run=run)


def rows(task: str | None = None, modality: str | None = None) -> list[Row]:
    """(model type, config class, tasks, static axes, modality) per registered architecture."""
    from ..modality import modality_of_config_class
    from ..onnx.builtin import default_registry
    from ..onnx.tasks import normalize_task

    registry = default_registry()
    wanted = normalize_task(task) if task else None
    table = []
    for mt, name, tasks in registry.table():
        cls = registry.get(mt)
        row = (mt, name, tasks, tuple(cls.STATIC_AXES), modality_of_config_class(cls))
        if (wanted is None or wanted in tasks) and (modality is None or row[4] == modality):
            table.append(row)
    return table


def run(args: argparse.Namespace) -> int:
    print(render(rows(args.task, args.modality), args.format))
    return 0


def render(table: list[Row], fmt: str = "table", width: int = WIDTH) -> str:
    """The rows as a table (tasks wrapped to ``width``), csv (a 0/1 column per task) or JSON."""
    if fmt == "json":
        return json.dumps([{"model_type": mt, "modality": mod, "config": "registered", "config_class": cls,
                            "tasks": list(ts), "static_axes": list(st)} for mt, cls, ts, st, mod in table],
                          indent=2)
    if fmt == "csv":
        tasks = list(dict.fromkeys(t for _, _, ts, _, _ in table for t in ts))
        lines = [",".join(["model_type", "modality", "config_class", *tasks, "static_axes"])]
        lines += [",".join([mt, mod, cls, *("1" if t in ts else "0" for t in tasks), " ".join(st)])
                  for mt, cls, ts, st, mod in table]
        return "\n".join(lines)
    return _table(table, width)


def _table(table: list[Row], width: int) -> str:
    """Model type, modality, then the tasks (and static axes) wrapped under their column."""
    header = ("model type", "modality", "tasks (static axes)")
    widths = [max(len(r[i]) for r in [header, *((mt, mod) for mt, _, _, _, mod in table)]) for i in range(2)]
    indent = sum(widths) + 2 * len(widths)
    room = max(30, width - indent)
    lines = [_line(header, widths), _line(tuple("-" * w for w in widths) + ("-" * 19,), widths)]
    for mt, _, tasks, static, mod in table:
        items = short_tasks(tasks) + ([f"static:\u00a0{','.join(static)}"] if static else [])
        wrapped = [w.replace("\u00a0", " ") for w in
                   textwrap.wrap(", ".join(items), room, break_on_hyphens=False, break_long_words=False)]
        lines.append(_line((mt, mod, wrapped[0]), widths))
        lines += [" " * indent + more for more in wrapped[1:]]
    lines.append(f"{len(table)} registered (--json for config classes). " + FOOTER)
    return "\n".join(textwrap.fill(line, width) if line is lines[-1] else line for line in lines)


def short_tasks(tasks: tuple[str, ...]) -> list[str]:
    """Task names, a task and its ``-with-past`` twin as one ``task(+past)``."""
    shown = []
    for task in tasks:
        if task.endswith("-with-past") and task.removesuffix("-with-past") in tasks:
            continue
        shown.append(f"{task}(+past)" if f"{task}-with-past" in tasks else task)
    return shown


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, [*widths, 0])).rstrip()
