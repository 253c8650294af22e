"""The chat template that turns prompt turns into the text a model sees.

The tokenizer's own template when it has one, else a Jinja file the user gives
(``--chat-template FILE``, the same language as Hugging Face chat templates: ``messages``,
``add_generation_prompt``, ``bos_token``, ``eos_token``). A given file wins over the
tokenizer's template. Rendering goes through ``tokenizer.apply_chat_template`` with
``add_generation_prompt=True``, so the prompt ends where the model starts to answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ProfileError
from ..schema import read_text

RENDER_BATCH = 1024


@dataclass(frozen=True)
class ChatTemplate:
    """A template's text and where it came from ("tokenizer" or the file's path)."""

    text: str
    origin: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, str]:
        return {"origin": self.origin, "sha256": self.sha256}


def read_template_file(path: str | Path) -> ChatTemplate:
    """The file's text, checked to parse as Jinja; one-line errors for anything else."""
    where = f"--chat-template {str(path)!r}"
    text = read_text(path, where, ProfileError, "give a readable Jinja chat template file")
    check_syntax(text, where)
    return ChatTemplate(text, str(Path(path).resolve()))


def check_syntax(text: str, where: str) -> None:
    import jinja2

    try:
        jinja2.Environment(extensions=["jinja2.ext.loopcontrols"]).parse(text)
    except jinja2.TemplateSyntaxError as e:
        raise ProfileError(f"{where} is not a valid Jinja template ({e.message} at line {e.lineno}); "
                           "fix the template") from e


def choose_template(tokenizer: Any, given: ChatTemplate | None, model: str | Path) -> ChatTemplate:
    """The given file's template, else the tokenizer's; neither is a one-line error."""
    if given is not None:
        return given
    own = getattr(tokenizer, "chat_template", None)
    if isinstance(own, dict):           # named templates: the default one
        own = own.get("default")
    if not own:
        raise ProfileError(f"the tokenizer of {str(model)!r} has no chat template; give one with "
                           "--chat-template FILE (a Jinja template over messages)")
    return ChatTemplate(str(own), "tokenizer")


def render_prompts(tokenizer: Any, template: ChatTemplate, conversations: Sequence[list[dict[str, str]]],
                   indices: Sequence[int]) -> list[str]:
    """Each conversation rendered with ``add_generation_prompt=True``, in batches."""
    out: list[str] = []
    for start in range(0, len(conversations), RENDER_BATCH):
        part = list(conversations[start:start + RENDER_BATCH])
        try:
            rendered = tokenizer.apply_chat_template(part, chat_template=template.text, tokenize=False,
                                                     add_generation_prompt=True)
        except Exception as e:
            at = _first_failing(tokenizer, template, part)
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise ProfileError(f"the chat template ({template.origin}) fails on record "
                               f"{indices[start + at]}: {first}; fix the template or the record") from e
        out += [rendered] if isinstance(rendered, str) else list(rendered)
    return out


def _first_failing(tokenizer: Any, template: ChatTemplate, part: Sequence[list[dict[str, str]]]) -> int:
    for i, conversation in enumerate(part):
        try:
            tokenizer.apply_chat_template(conversation, chat_template=template.text, tokenize=False,
                                          add_generation_prompt=True)
        except Exception:
            return i
    return 0
