"""The report page: one self-contained HTML file (inline CSS and SVG, no scripts, no links out).

Each plot is a ``<figure class="plot" id=... data-series=...>`` holding the SVG, a caption, and
the plotted numbers twice: as JSON in ``data-series`` (for tools and tests) and as a table.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..bench.report import fmt
from .figures import COLOURS, Plot, clean

if TYPE_CHECKING:
    from ..bench.results import BenchResults
    from ..regression.compare import Comparison

CSS = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 1.5em auto; padding: 0 1em;
       color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
.meta { color: #555; font-size: .9em; } .note { background: #fff8e1; padding: .3em .6em; }
figure { margin: 0 0 .5em 0; overflow-x: auto; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: .9em; }
table { border-collapse: collapse; font-size: .85em; margin: .5em 0; }
th, td { border: 1px solid #ddd; padding: .15em .5em; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
nav a { margin-right: 1em; } .verdict { font-weight: bold; }
"""


def render(results: BenchResults, plots: Sequence[Plot], comparison: Comparison | None = None,
           names: tuple[str, str] = ("base", "candidate"), notes: tuple[str, ...] = (),
           sections: Sequence[tuple[str, str, str]] = ()) -> str:
    """The page; ``sections``: more ``(id, title, HTML)`` sections after the plots (the tune's)."""
    model = results.model
    title = f"shapeprof report: {model.get('model_type')} ({model.get('task')})"
    body = [f"<h1>{escape(title)}</h1>", _meta(results)]
    if comparison is not None:
        body.append(_comparison_head(comparison, names))
    body += [f'<p class="note">note: {escape(n)}</p>' for n in (*notes, *results.notes)]
    links = [(p.id, p.title) for p in plots] + [(i, t) for i, t, _ in sections]
    if links:
        body.append("<nav>" + "".join(f'<a href="#{i}">{escape(t)}</a>' for i, t in links) + "</nav>")
    if not plots:
        body.append("<p>These results hold nothing to plot.</p>")
    body += [section(p) for p in plots]
    body += [f'<section id="{i}">\n{fragment}\n</section>' for i, _, fragment in sections]
    return document(title, body)


def document(title: str, body: Sequence[str]) -> str:
    """The page around ``body`` (HTML fragments): doctype, title, the shared CSS."""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def _meta(results: BenchResults) -> str:
    env, s = results.environment, results.settings
    versions = env.get("versions") or {}
    dataset = ((s.get("profile") or {}).get("dataset") or {})
    parts = [f"{env.get('cpu')}", f"{s.get('intra_op_threads')} intra-op threads",
             ", ".join(s.get("providers") or []), f"onnxruntime {versions.get('onnxruntime')}",
             f"torch {versions.get('torch')}"]
    if dataset:
        parts.append(f"data: {dataset.get('name') or dataset.get('description')}")
    if results.created:
        parts.append(f"measured {results.created}")
    return f'<p class="meta">{escape("; ".join(p for p in parts if p))}</p>'


def _comparison_head(cmp: Comparison, names: tuple[str, str]) -> str:
    colour = COLOURS["regression"] if cmp.gate_failed else COLOURS["improvement"]
    head = (f'<p class="verdict" style="color:{colour}">{escape(cmp.verdict)}: {escape(names[1])} against '
            f"{escape(names[0])}, {len(cmp.cells)} matched cells</p>")
    lines = [head]
    facts = [f"verification failed in the {w} export" for w in cmp.failed_verification]
    facts += [f"exact fact changed: {c}" for c in cmp.fact_changes]
    facts += [f"only in the {w}: {', '.join(labels)}" for w, labels in
              (("base", cmp.only_in_base), ("candidate", cmp.only_in_candidate)) if labels]
    if facts:
        lines.append("<ul>" + "".join(f"<li>{escape(f)}</li>" for f in facts) + "</ul>")
    return "\n".join(lines)


def section(plot: Plot) -> str:
    """One plot's section: heading, figure with its data, and the numbers as a table."""
    data = html.escape(json.dumps(clean(plot.series), separators=(",", ":")), quote=True)
    return (f'<section>\n<h2>{escape(plot.title)}</h2>\n<figure class="plot" id="{plot.id}" data-series="{data}">\n'
            f"{plot.svg}\n<figcaption>{escape(plot.caption)}</figcaption>\n</figure>\n"
            f"<details><summary>The numbers</summary>\n{table(*plot.table)}\n</details>\n</section>")


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(fmt(v))}</td>" for v in row) + "</tr>\n" for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"


def escape(text: Any) -> str:
    return html.escape(str(text), quote=True)
