"""The Ray engine: read shards with Ray Data, tokenize in ``map_batches``, merge exact histograms.

Stages: check every shard cheaply (before any cluster starts) -> open the cluster -> read the
shards in Ray tasks with the stream engine's own reader (parquet, JSON lines, csv/tsv: same
parsing, same GLUE quirks), or slice a local Hugging Face dataset -> ``map_batches(TokenizeBlocks)``
in an actor pool, one tokenizer per worker -> summaries back in data order -> ``BlockMerger``
-> the rows-measured check.

The driver holds the merged histogram and a few thousand example rows, never the corpus.
A worker that dies is restarted and its block retried (``RETRIES`` times); a run whose rows
measured differ from the rows read (or from the parquet footers) fails with one line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...data.load import empty_error, progress_bar
from ...data.readers import FileFormat, LocalFiles
from ...data.shards import check_shards
from ...data.source import ResolvedDataset
from ...errors import ProfileError, ShapeprofError
from ..measure import Measurement
from ..tokenize import ModelInfo
from .blocks import BlockMerger, decode
from .ray_cluster import ray_cluster
from .ray_worker import SUMMARY, TokenizeBlocks

BLOCK_ROWS = 8192        # rows per map_batches call (one summary each)
RETRIES = 3              # worker restarts and block retries before the job fails


@dataclass(frozen=True)
class RayRun:
    """How a Ray measurement went: where, with how many workers, and what it read."""

    cluster: str             # "local" or the address joined
    workers: int
    blocks: int
    rows_read: int
    seconds: float

    def line(self) -> str:
        rate = self.rows_read / self.seconds if self.seconds > 0 else 0.0
        return (f"engine: ray ({self.cluster}, {self.workers} workers): {self.rows_read:,} rows "
                f"read and measured in {self.blocks:,} blocks, {self.seconds:.1f} s "
                f"({rate:,.0f} rows/s)")


def measure_on_ray(ds: ResolvedDataset, model: str, info: ModelInfo, batch_sizes: Sequence[int],
                   seed: int = 0, *, address: str | None = None, workers: int | None = None,
                   progress: bool = True, worker_class: type = TokenizeBlocks
                   ) -> tuple[Measurement, RayRun]:
    """Measure every row of ``ds`` on Ray; the result feeds ``build_profile`` like a stream's.

    ``worker_class`` is the callable class run per block (``TokenizeBlocks`` or a subclass)."""
    expected = check_input(ds)
    start = time.perf_counter()
    with ray_cluster(address) as cluster:
        size = worker_count(workers, cluster.cpus)
        dataset = read_dataset(ds)
        kwargs = dict(model=model, columns=ds.spec.text_columns,
                      max_length=info.max_length, batch_sizes=tuple(batch_sizes), seed=seed)
        mapped = tokenize(dataset, worker_class, kwargs, size)
        merger = BlockMerger(info.max_length, batch_sizes, ds.spec.text_columns)
        collect(mapped, merger, expected, progress, cluster.check_interrupt)
    check_counts(ds, merger, expected)
    run = RayRun(cluster.address or "local", size, merger.blocks, merger.rows_read,
                 time.perf_counter() - start)
    return merger.measurement(), run


def check_input(ds: ResolvedDataset) -> int | None:
    """Every shard parses at its start; the parquet footers' row total (else None)."""
    reader = ds.reader
    if isinstance(reader, LocalFiles):
        return check_shards(reader.paths, reader.fmt)
    if getattr(reader, "streaming", False):
        raise ProfileError("the Ray engine reads a local Hugging Face dataset, not a streamed one")
    return None


def worker_count(workers: int | None, cpus: int) -> int:
    if workers is None:
        return cpus
    if workers < 1 or workers > cpus:
        raise ProfileError(f"--ray-workers {workers}: the Ray cluster has {cpus} CPUs; "
                           f"pass 1..{cpus} or omit it for one worker per CPU")
    return workers


def read_dataset(ds: ResolvedDataset) -> Any:
    """A Ray dataset of the text columns: shards read in Ray tasks by the stream engine's reader
    (same parsing, same column names), or a local Hugging Face dataset in memory-mapped slices."""
    import ray.data

    configure_context(ray.data.DataContext.get_current())
    reader = ds.reader
    if not isinstance(reader, LocalFiles):
        table = reader.read(ds.spec.text_columns)
        return ray.data.from_arrow([table.slice(i, BLOCK_ROWS * 8)
                                    for i in range(0, max(table.num_rows, 1), BLOCK_ROWS * 8)])
    paths = [str(p) for p in reader.paths]
    shards = ray.data.from_items([{"path": p} for p in paths], override_num_blocks=len(paths))
    return shards.map_batches(read_shards, batch_size=1, batch_format="numpy", num_cpus=0,
                              fn_kwargs=dict(fmt=reader.fmt, columns=ds.spec.text_columns))


def read_shards(batch: dict[str, Any], fmt: FileFormat, columns: Sequence[str]) -> Iterator[Any]:
    """Runs in a Ray task: each shard's text columns in chunks of ``BLOCK_ROWS`` rows. A row that
    cannot be parsed raises the stream engine's one-line DataError naming the shard."""
    for path in batch["path"]:
        shard = LocalFiles([Path(str(path))], fmt)
        yield from shard.iter_batches(columns, BLOCK_ROWS)


def configure_context(ctx: Any) -> None:
    """Summaries in data order (in-batch padding needs it), no skipped blocks, no bars."""
    ctx.execution_options.preserve_order = True
    ctx.max_errored_blocks = 0
    ctx.enable_progress_bars = False
    if hasattr(ctx, "print_on_execution_start"):
        ctx.print_on_execution_start = False


def tokenize(dataset: Any, worker_class: type, kwargs: dict[str, Any], size: int) -> Any:
    """``map_batches`` over an actor pool; restart limits are plain Ray remote arguments."""
    import warnings

    import ray.data

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ray_remote_args.* is deprecated")
        return dataset.map_batches(worker_class, fn_constructor_kwargs=kwargs,
                                   batch_format="pyarrow", batch_size=BLOCK_ROWS,
                                   compute=ray.data.ActorPoolStrategy(size=size), num_cpus=1,
                                   max_restarts=RETRIES, max_task_retries=RETRIES)


def collect(mapped: Any, merger: BlockMerger, expected: int | None, progress: bool,
            check_interrupt: Callable[[], None] = lambda: None) -> None:
    """Stream the summaries to the driver in data order and merge them; a Ctrl-C or SIGTERM
    received meanwhile is raised after every block and at the end, even if Ray swallowed it."""
    with progress_bar(progress, expected, "tokenizing on Ray") as bar:
        try:
            for row in mapped.iter_rows():
                check_interrupt()
                block = decode(row[SUMMARY])
                merger.add(block)
                bar.update(block.rows_read)
        except ShapeprofError:
            raise
        except Exception as e:
            raise job_error(e) from e
    check_interrupt()


def job_error(error: BaseException) -> ShapeprofError:
    """Our own error raised in a worker, else one line about the failed job."""
    seen: BaseException | None = error
    while seen is not None:
        cause = getattr(seen, "cause", None)
        if isinstance(cause, ShapeprofError):
            return cause
        if isinstance(seen, ShapeprofError):
            return seen
        seen = cause if isinstance(cause, BaseException) else seen.__cause__
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    last = lines[-1] if lines else type(error).__name__
    return ProfileError(f"the Ray job failed after {RETRIES} retries per block "
                        f"({type(error).__name__}: {last[:300]}); see the worker logs under "
                        "/tmp/ray/session_latest/logs, or re-run with --engine stream")


def check_counts(ds: ResolvedDataset, merger: BlockMerger, expected: int | None) -> None:
    """Rows measured == rows read (== the parquet footers' rows): never a partial profile."""
    measured, read = merger.acc.rows, merger.rows_read
    if read == 0 and expected in (None, 0):
        raise empty_error(ds)
    if measured != read or (expected is not None and read != expected):
        footer = f" of {expected:,} in the parquet footers" if expected is not None else ""
        raise ProfileError(f"the Ray job measured {measured:,} rows but read {read:,}{footer}: "
                           "blocks were lost; nothing was written: re-run the profile")
