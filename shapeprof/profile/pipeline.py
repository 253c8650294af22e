"""``profile_dataset``: dataset + model preprocessor -> a Profile, as a list of named stages.

Text goes through the tokenizer into a ShapeProfile; images, audio and caption+image pairs
(``modality_of`` the model) through its preprocessor into a MediaProfile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..data.rows import TextRows
from ..data.source import PathsArg, ResolvedDataset, resolve_dataset, with_text_columns
from ..console import say
from ..errors import ProfileError
from .buckets import bucket_plan
from .engines import check_engine
from .measure import (LengthAccumulator, Measurement, measure_in_memory, measure_stream,
                      measure_stream_sample)
from .padding import padding_report
from .recommend import SEQUENCE, recommend
from .shape_profile import DatasetInfo, ShapeProfile
from .stats import axis_stats
from .tokenize import LengthCounter, ModelInfo, load_tokenizer
from .uncertainty import profile_uncertainty

if TYPE_CHECKING:
    from .media import MediaProfile
    from .protocol import Profile


def profile_dataset(model: str | Path | None = None, dataset: str = "glue", *,
                    data_dir: str | Path | None = None, data_files: PathsArg | None = None,
                    split: str | None = None, text_columns: str | Sequence[str] | None = None,
                    rows: int | None = None, seed: int = 0, streaming: bool = False,
                    batch_sizes: Sequence[int] = (1, 8, 32), buckets: int | None = None,
                    max_policy: str = "max", progress: bool = True,
                    prompt_columns: str | Sequence[str] | None = None,
                    completion_column: str | None = None,
                    chat_template: str | Path | None = None, engine: str = "stream",
                    ray_address: str | None = None, ray_workers: int | None = None) -> Profile:
    """Tokenize a seeded sample of ``dataset`` with ``model``'s tokenizer and profile its shapes.

    ``model`` None means the embedded all-MiniLM-L6-v2. Only the tokenizer and config load.
    ``rows`` None profiles every row; ``streaming`` reads in chunks with bounded memory
    (a reservoir sample when ``rows`` is given). ``buckets`` None picks k automatically.
    Chat data (``prompt_columns`` + ``completion_column``, or a ``messages`` column; prompts
    rendered with the tokenizer's chat template or the ``chat_template`` file) gives a generation
    profile: see :mod:`shapeprof.profile.generation`.
    ``engine`` "ray" tokenizes every row as a Ray Data job (``profile.engines``) at
    ``ray_address`` (default: ``$RAY_ADDRESS``, else a local instance) on ``ray_workers``.
    """
    check_arguments(rows, batch_sizes, buckets)
    if model is None:
        from ..default_model import default_model_dir
        model = default_model_dir()
    from ..modality import modality_of

    modality = modality_of(model)
    check_engine(engine, rows, modality,
                 chat=bool(prompt_columns or completion_column or chat_template))
    if modality != "text":  # images, audio, caption+image pairs: sizes through the preprocessor
        column = text_columns if isinstance(text_columns, str) or text_columns is None else text_columns[0]
        return profile_preprocessed(model, data_dir or dataset, modality, data_files=data_files,
                                  split=split, text_column=column, rows=rows, seed=seed,
                                  batch_sizes=batch_sizes, progress=progress)
    chat, opened = _profile_chat(model, dataset, streaming or engine == "ray", data_dir=data_dir,
                                 data_files=data_files, split=split, text_columns=text_columns,
                                 rows=rows, seed=seed, batch_sizes=batch_sizes, buckets=buckets,
                                 max_policy=max_policy, progress=progress,
                                 prompt_columns=prompt_columns,
                                 completion_column=completion_column, chat_template=chat_template)
    if chat is not None:
        return chat
    ds = (with_text_columns(opened, dataset, data_files, text_columns) if opened is not None else
          resolve_dataset(dataset, data_dir=data_dir, data_files=data_files, split=split,
                          text_columns=text_columns, streaming=streaming and engine == "stream"))
    tokenizer, info = load_tokenizer(model)
    if engine == "ray":
        measured = _measure_on_ray(ds, str(model), info, batch_sizes, seed, ray_address,
                                   ray_workers, progress)
        return build_profile(ds, info, measured, None, seed, True, batch_sizes, buckets, max_policy)
    acc = LengthAccumulator(info.max_length, batch_sizes)
    measured = _measure(ds, LengthCounter(tokenizer), acc, rows, seed, streaming, progress)
    return build_profile(ds, info, measured, rows, seed, streaming, batch_sizes, buckets, max_policy)


def _profile_chat(model: str | Path, dataset: str, streaming: bool, **options: Any
                  ) -> tuple[Profile | None, ResolvedDataset | None]:
    """A generation profile when the chat options or a ``messages`` column ask for one, else None;
    and the dataset if it was opened to tell (a text profile goes on with it, not opening it again)."""
    from .generation import chat_layout, profile_generation

    chat = {k: options.pop(k) for k in ("prompt_columns", "completion_column", "chat_template")}
    if streaming and all(v is None for v in chat.values()):
        return None, None                        # a stream is a text profile unless asked
    where = {k: options[k] for k in ("data_dir", "data_files", "split")}
    layout, opened = chat_layout(dataset, text_columns=options.pop("text_columns"), **where, **chat)
    if layout is None:
        return None, opened
    if streaming:
        raise ProfileError("--streaming applies to text profiles; a chat profile reads its "
                           "(sampled) records in memory: drop --streaming, use --rows")
    return profile_generation(model, dataset, columns=layout, chat_template=chat["chat_template"],
                              build=build_profile, opened=opened, **options), None


def profile_preprocessed(model: str | Path, dataset: Any, modality: str, *,
                       data_files: PathsArg | None = None, split: str | None = None,
                       text_column: str | None = None, rows: int | None = None, seed: int = 0,
                       batch_sizes: Sequence[int] = (1, 8, 32), progress: bool = True) -> MediaProfile:
    """Image or audio samples, or caption+image pairs, through the model's own preprocessor."""
    from .media import profile_media

    if modality == "text+image":  # CLIP-style: caption lengths and image sizes
        from .pairs import profile_text_image

        return profile_text_image(model, dataset, data_files=_paths(data_files), split=split,
                                  text_column=text_column, rows=rows, seed=seed,
                                  batch_sizes=batch_sizes, progress=progress)
    return profile_media(model, dataset, modality, data_files=_paths(data_files), split=split,
                         rows=rows, seed=seed, batch_sizes=batch_sizes, progress=progress)


def _paths(files: PathsArg | None) -> list[str | Path] | None:
    """Media and pair files are one flat list (split-keyed files are for text datasets)."""
    if files is None or isinstance(files, (str, Path)):
        return None if files is None else [files]
    if isinstance(files, Mapping):
        raise ProfileError("data files keyed by split apply to text datasets; give image, audio or "
                           "pair files as one list")
    return list(files)


def check_arguments(rows: int | None, batch_sizes: Sequence[int], buckets: int | None) -> None:
    if rows is not None and rows < 1:
        raise ProfileError(f"rows must be a positive number or omitted for all rows, not {rows}")
    if not batch_sizes or any(int(b) < 1 for b in batch_sizes):
        raise ProfileError(f"batch sizes must be positive integers, not {list(batch_sizes)}")
    if buckets is not None and buckets < 1:
        raise ProfileError(f"the number of buckets must be at least 1, not {buckets}")


def _measure(ds: ResolvedDataset, counter: LengthCounter, acc: LengthAccumulator,
             rows: int | None, seed: int, streaming: bool, progress: bool) -> Measurement:
    if not streaming:
        return measure_in_memory(ds, counter, acc, rows, seed, progress)
    if rows is not None:
        return measure_stream_sample(ds, counter, acc, rows, seed, progress)
    return measure_stream(ds, counter, acc, seed, progress)


def _measure_on_ray(ds: ResolvedDataset, model: str, info: ModelInfo, batch_sizes: Sequence[int],
                    seed: int, address: str | None, workers: int | None,
                    progress: bool) -> Measurement:
    """Every row, tokenized as a Ray Data job; measured like a full stream."""
    from .engines.ray_engine import measure_on_ray

    measured, run = measure_on_ray(ds, model, info, batch_sizes, seed, address=address,
                                   workers=workers, progress=progress)
    say(progress, run.line())
    return measured


def _sampling(measured: Measurement, rows: int | None, streaming: bool) -> str:
    if streaming and rows is None:
        return "stream (all rows)"
    if rows is None or measured.acc.rows == measured.rows_total:
        return "all rows"
    return "reservoir sample" if streaming else "random subset"


def build_profile(ds: ResolvedDataset, info: ModelInfo, measured: Measurement, rows: int | None,
                  seed: int, streaming: bool, batch_sizes: Sequence[int], buckets: int | None,
                  max_policy: str = "max") -> ShapeProfile:
    """Statistics, buckets, recommendations and padding from a measurement."""
    acc = measured.acc
    counts = acc.length_counts()
    seq = axis_stats(SEQUENCE, counts, acc.truncated, acc.natural_max)
    plan = bucket_plan(counts, buckets, max(batch_sizes))
    padding = padding_report(counts, acc.in_batch, info.max_length, plan.padded_tokens)
    dataset = DatasetInfo(ds.spec, acc.rows, measured.rows_total, rows, seed, streaming,
                          _sampling(measured, rows, streaming))
    sample: TextRows = measured.texts
    sure = profile_uncertainty({SEQUENCE: counts}, measured.rows_total, counts, padding, plan.k,
                               info.max_length)
    return ShapeProfile(dataset, info, tuple(sorted(set(int(b) for b in batch_sizes))),
                        {SEQUENCE: seq}, counts,
                        recommend(seq, batch_sizes, info.max_length, max_policy), plan, padding,
                        uncertainty=sure, sample=sample)
