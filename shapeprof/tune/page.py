"""tune.html: tune.md as one self-contained page in the HTML report's style (its CSS, no scripts),
and as fragments the HTML report nests as its tune section (``shapeprof report --tune``)."""

from __future__ import annotations

import html
import re

from ..report.page import document

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`(.+?)`")


def render(markdown: str) -> str:
    """The page of a tune.md: headings, paragraphs, lists and tables."""
    return document("shapeprof tune", fragments(markdown))


def fragments(markdown: str, shift: int = 0) -> list[str]:
    """tune.md as HTML fragments (headings ``shift`` levels deeper, to nest in another page)."""
    body: list[str] = []
    table: list[list[str]] = []
    for line in markdown.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-:") for c in cells):
                table.append(cells)
            continue
        if table:
            body.append(_table(table))
            table = []
        body.append(_block(line, shift))
    return [b for b in body if b]


def _block(line: str, shift: int = 0) -> str:
    level = len(line) - len(line.lstrip("#"))
    if 0 < level <= 2 and line[level:level + 1] == " ":
        h = min(level + shift, 6)
        return f"<h{h}>{_inline(line[level + 1:])}</h{h}>"
    if line.startswith("- "):
        return f"<p class=\"note\">{_inline(line[2:])}</p>"
    return f"<p>{_inline(line)}</p>" if line.strip() else ""


def _table(rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_inline(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>\n" for r in rows[1:])
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"


def _inline(text: str) -> str:
    text = html.escape(text, quote=True)
    return _CODE.sub(r"<code>\1</code>", _BOLD.sub(r"<strong>\1</strong>", text))
