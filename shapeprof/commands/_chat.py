"""Options of chat and instruction datasets, shared by ``profile`` and ``export --dataset``."""

from __future__ import annotations

import argparse
from typing import Any


def add_chat_arguments(group: Any) -> None:
    group.add_argument("--prompt-columns", default=None, metavar="A[,B...]",
                       help="chat data: columns joined into the user's prompt, e.g. instruction,input "
                            "(with --completion-column; default: a 'messages' column if there is one)")
    group.add_argument("--completion-column", default=None, metavar="COLUMN",
                       help="chat data: the column holding the reference answer, e.g. output")
    group.add_argument("--chat-template", default=None, metavar="FILE",
                       help="chat data: a Jinja chat template file to render prompts with (default: "
                            "the tokenizer's own; required when the tokenizer has none)")


def chat_options(args: argparse.Namespace) -> dict[str, Any]:
    """The chat options given, as ``profile_dataset`` keywords (none given: an empty dict)."""
    values = {"prompt_columns": args.prompt_columns, "completion_column": args.completion_column,
              "chat_template": args.chat_template}
    return {k: v for k, v in values.items() if v is not None}
