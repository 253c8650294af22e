"""Generation workloads: prompt lengths and completion lengths of a chat or instruction dataset.

Each record's prompt is rendered with the chat template (``add_generation_prompt=True``) and
tokenized as the model sees it; its completion is the reference answer, tokenized with the same
tokenizer, plus the end-of-sequence token that stops generation (when the tokenizer has one):
``new_tokens`` is the number of tokens a request generates. Pairs are clipped to the model's
context (prompt at most ``max_length``; prompt + new tokens at most ``max_length + 1``, the last
token needing no further step); clipped rows are counted as truncated.

The result is a :class:`~shapeprof.profile.shape_profile.ShapeProfile` whose
``sequence_length`` axis is the prompt length (what prefill and the export see), with a
:class:`GenerationStats` under the optional ``generation`` key: ``prompt_length`` and
``new_tokens`` statistics and the joint (prompt, new tokens) histogram of the real pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.chat import ChatColumns
from ..errors import ProfileError
from .chat_template import ChatTemplate
from .stats import AxisStats, axis_stats

if TYPE_CHECKING:
    from ..data.chat import ChatRecords
    from ..data.source import PathsArg, ResolvedDataset
    from .shape_profile import ShapeProfile

PROMPT_LENGTH, NEW_TOKENS = "prompt_length", "new_tokens"
NEW_TOKENS_RULE = "reference answer tokens + 1 end-of-sequence token"


@dataclass(frozen=True)
class ChatRequests:
    """The sampled requests: rendered prompts and the tokens each generates (clipped)."""

    prompts: list[str]
    prompt_lengths: np.ndarray
    new_tokens: np.ndarray
    indices: list[int]


@dataclass(frozen=True)
class GenerationStats:
    """Prompt and completion lengths over the real pairs, saved under ``generation``."""

    prompt_length: AxisStats
    new_tokens: AxisStats
    pairs: Mapping[tuple[int, int], int]          # (prompt length, new tokens) -> rows
    chat: ChatColumns
    template: Mapping[str, str]                   # origin ("tokenizer" or a file), sha256
    stop_token: bool                              # new_tokens counts an end-of-sequence token
    requests: ChatRequests | None = field(default=None, compare=False, repr=False)   # not saved

    @property
    def axes(self) -> dict[str, AxisStats]:
        return {PROMPT_LENGTH: self.prompt_length, NEW_TOKENS: self.new_tokens}

    @property
    def new_tokens_rule(self) -> str:
        return NEW_TOKENS_RULE if self.stop_token else "reference answer tokens"

    def to_dict(self) -> dict[str, Any]:
        return {"prompt_length": self.prompt_length.to_dict(), "new_tokens": self.new_tokens.to_dict(),
                "pairs": [[p, n, c] for (p, n), c in sorted(self.pairs.items())],
                "chat": self.chat.to_dict(), "template": dict(self.template),
                "new_tokens_rule": self.new_tokens_rule,
                "stop_token": self.stop_token}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationStats:
        return cls(AxisStats.from_dict(data["prompt_length"]), AxisStats.from_dict(data["new_tokens"]),
                   {(int(p), int(n)): int(c) for p, n, c in data["pairs"]},
                   ChatColumns.from_dict(data["chat"]), dict(data.get("template") or {}),
                   bool(data.get("stop_token", True)))


def profile_generation(model: str | Path, dataset: Any, *, columns: ChatColumns,
                       chat_template: str | Path | None = None, data_dir: str | Path | None = None,
                       data_files: PathsArg | None = None, split: str | None = None,
                       rows: int | None = None, seed: int = 0, batch_sizes: Sequence[int] = (1, 8, 32),
                       buckets: int | None = None, max_policy: str = "max",
                       progress: bool = True, build: Callable[..., ShapeProfile] | None = None,
                       opened: ResolvedDataset | None = None) -> ShapeProfile:
    """Profile the prompts and completions of a chat or instruction dataset (module docstring).

    ``build`` is :func:`shapeprof.profile.pipeline.build_profile` (passed in by the pipeline,
    which dispatches here, so the two modules do not import each other); ``opened`` the dataset
    when :func:`chat_layout` already opened it."""
    import dataclasses

    from ..console import say
    from ..data.chat import load_chat, open_chat
    from .chat_template import read_template_file

    if build is None:
        raise ProfileError("profile_generation needs the pipeline's build_profile; call "
                           "shapeprof.profile.profile_dataset")
    given = read_template_file(chat_template) if chat_template is not None else None
    ds = open_chat(dataset, columns, data_dir=data_dir, data_files=data_files, split=split,
                   opened=opened)
    tokenizer, info, template = _tokenizer_and_template(model, given)
    records = load_chat(ds, columns, rows, seed)
    say(progress, f"rendering and tokenizing {len(records):,} prompts and answers")
    requests, natural = measure_requests(tokenizer, template, records, info.max_length)
    base = _shape_profile(build, ds, info, requests, natural[0], records, rows, seed, batch_sizes,
                          buckets, max_policy)
    stats = generation_stats(requests, natural, columns, template, _stop_token(tokenizer))
    return dataclasses.replace(base, generation=stats)


def _tokenizer_and_template(model: str | Path, given: ChatTemplate | None) -> tuple[Any, Any, ChatTemplate]:
    from .chat_template import choose_template
    from .tokenize import load_tokenizer

    tokenizer, info = load_tokenizer(model)
    return tokenizer, info, choose_template(tokenizer, given, model)


def _stop_token(tokenizer: Any) -> bool:
    return getattr(tokenizer, "eos_token_id", None) is not None


def measure_requests(tokenizer: Any, template: ChatTemplate, records: ChatRecords,
                     max_length: int | None) -> tuple[ChatRequests, tuple[np.ndarray, np.ndarray]]:
    """The clipped requests and the natural (prompt, new tokens) lengths."""
    from ..data.rows import TextRows
    from .chat_template import render_prompts
    from .tokenize import LengthCounter

    prompts = render_prompts(tokenizer, template, records.prompts, records.indices)
    count = LengthCounter(tokenizer, special_tokens=False)   # one copy of the Rust tokenizer
    prompt_natural = count(TextRows(("prompt",), (list(prompts),)))
    new_natural = count(TextRows(("answer",), (list(records.answers),))) + int(_stop_token(tokenizer))
    new_natural = np.maximum(new_natural, 1)
    p, n = clip_pairs(prompt_natural, new_natural, max_length)
    return ChatRequests(prompts, p, n, list(records.indices)), (prompt_natural, new_natural)


def clip_pairs(prompts: np.ndarray, new: np.ndarray, max_length: int | None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Prompts cut to ``max_length``; new tokens to what the context leaves (at least 1)."""
    if max_length is None:
        return prompts.copy(), new.copy()
    p = np.minimum(prompts, max_length)
    return p, np.maximum(1, np.minimum(new, max_length - p + 1))


def generation_stats(requests: ChatRequests, natural: tuple[np.ndarray, np.ndarray],
                     columns: ChatColumns, template: ChatTemplate, stop_token: bool) -> GenerationStats:
    p, n = requests.prompt_lengths, requests.new_tokens
    prompt_axis = axis_stats(PROMPT_LENGTH, Counter(p.tolist()), int((natural[0] > p).sum()),
                             int(natural[0].max()))
    new_axis = axis_stats(NEW_TOKENS, Counter(n.tolist()), int((natural[1] > n).sum()),
                          int(natural[1].max()))
    pairs = Counter(zip(p.tolist(), n.tolist()))
    return GenerationStats(prompt_axis, new_axis, dict(pairs), columns, template.to_dict(), stop_token,
                           requests)


def _shape_profile(build: Callable[..., ShapeProfile], ds: Any, info: Any, requests: ChatRequests, natural: np.ndarray,
                   records: ChatRecords, rows: int | None, seed: int, batch_sizes: Sequence[int],
                   buckets: int | None, max_policy: str) -> ShapeProfile:
    """The prompt lengths as the profile's sequence axis (buckets, padding, recommendations)."""
    import dataclasses

    from ..data.rows import TextRows
    from .measure import LengthAccumulator, Measurement

    acc = LengthAccumulator(info.max_length, batch_sizes)
    acc.add(natural)
    spec = dataclasses.replace(ds.spec, text_columns=records.columns.read)
    resolved = dataclasses.replace(ds, spec=spec)
    texts = TextRows(("prompt",), (list(requests.prompts),))
    return build(resolved, info, Measurement(acc, texts, records.rows_total), rows, seed, False,
                         batch_sizes, buckets, max_policy)


# ---- again, from a saved profile ----------------------------------------------------------------
def reload_requests(profile: ShapeProfile, tokenizer: Any = None) -> ChatRequests:
    """The profile's requests, read and rendered again (same rows, seed, template); cached.
    ``tokenizer``: the model's, already loaded (the bench's), else loaded from the profile's model."""
    stats = profile.generation
    if stats is None:
        raise ProfileError("the profile has no generation data; profile a chat dataset with "
                           "--prompt-columns/--completion-column or a messages column")
    if stats.requests is not None:
        return stats.requests
    from ..data.chat import load_chat, open_chat
    from ..data.source import reopen_args

    ds = open_chat(**reopen_args(profile.dataset.spec), columns=stats.chat)
    if tokenizer is None:
        tokenizer, info, template = _tokenizer_and_template(profile.model.name_or_path, _saved_template(stats))
        max_length = info.max_length
    else:
        from .chat_template import choose_template

        template = choose_template(tokenizer, _saved_template(stats), profile.model.name_or_path)
        max_length = profile.model.max_length
    if template.sha256 != stats.template.get("sha256", template.sha256):
        raise ProfileError(f"the chat template ({template.origin}) changed since the profile was made; "
                           "re-run 'shapeprof profile'")
    records = load_chat(ds, stats.chat, profile.dataset.rows_requested, profile.dataset.seed)
    requests, _ = measure_requests(tokenizer, template, records, max_length)
    object.__setattr__(stats, "requests", requests)
    return requests


def _saved_template(stats: GenerationStats) -> ChatTemplate | None:
    from .chat_template import read_template_file

    origin = stats.template.get("origin", "tokenizer")
    return None if origin == "tokenizer" else read_template_file(origin)


# ---- summary ----------------------------------------------------------------------------------
def generation_summary(stats: GenerationStats) -> str:
    """Prompt and completion lengths, as the profile summary prints them."""
    head = f"{'generation':<16}{'min':>6}{'p50':>8}{'p90':>8}{'p95':>8}{'p99':>8}{'max':>6}{'mean':>8}  truncated"
    lines = [head, "-" * len(head)]
    for a in stats.axes.values():
        lines.append(f"{a.name:<16}{a.min:>6}{a.p(50):>8g}{a.p(90):>8g}{a.p(95):>8g}{a.p(99):>8g}"
                     f"{a.max:>6}{a.mean:>8.1f}  {a.truncated_rows:,}")
    chat = stats.chat
    what = (f"messages column {chat.messages_column!r}" if chat.format == "messages"
            else f"prompt columns {', '.join(chat.prompt_columns)}; completion column {chat.completion_column}")
    lines += [f"(prompts: {what}, rendered with the chat template of {stats.template.get('origin')}; "
              f"new_tokens = {stats.new_tokens_rule}; {len(stats.pairs):,} distinct (prompt, new tokens) pairs kept)"]
    return "\n".join(lines)


# ---- which profile the options ask for ----------------------------------------------------------
def chat_layout(dataset: Any, *, data_dir: str | Path | None = None, data_files: PathsArg | None = None,
                split: str | None = None, text_columns: Any = None, prompt_columns: Any = None,
                completion_column: str | None = None, chat_template: str | Path | None = None
                ) -> tuple[ChatColumns | None, ResolvedDataset | None]:
    """The chat layout when the options or the data ask for a generation profile, else None:
    prompt/completion columns or a template given, or a ``messages`` list column in the data;
    with the dataset when it had to be opened to tell (else None), so it opens once."""
    from ..data.chat import chat_columns, has_messages
    from ..data.source import open_dataset

    asked = prompt_columns is not None or completion_column is not None or chat_template is not None
    if asked and text_columns is not None:
        raise ProfileError("--text-columns applies to text profiles; for prompts and completions give "
                           "--prompt-columns and --completion-column (or a messages column) instead")
    if asked:
        return chat_columns(prompt_columns, completion_column), None
    name = str(dataset or "glue").lower()
    if text_columns is not None or (data_files is None and (name == "glue" or name.startswith("glue/"))):
        return None, None
    ds = open_dataset(dataset, data_dir=data_dir, data_files=data_files, split=split)
    return (ChatColumns("messages") if has_messages(ds) else None), ds
