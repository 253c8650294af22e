"""``--engine ray`` on a real local Ray instance (one per module): no mock, no skip.

Same rows through the Ray engine and the single-process stream -> the same profile JSON; a
worker killed mid-run is restarted and its block retried, and the profile still counts every
row. CI installs the extra (scripts/setup-venv.sh), so a missing Ray fails here, loudly.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from shapeprof.errors import ProfileError
from shapeprof.profile import profile_dataset
from shapeprof.profile.engines.ray_worker import TokenizeBlocks

SHARD_ROWS = (1001, 999, 1003)     # not multiples of any batch size: in-batch padding spans shards


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray instance for the module (starting one takes seconds); the engine reuses it."""
    from shapeprof.profile.engines.ray_cluster import ray_cluster

    with ray_cluster(num_cpus=2) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def sst2_rows(shared_data) -> list[str]:
    path = shared_data / "glue" / "SST-2" / "train.tsv"
    with open(path, encoding="utf-8", newline="") as f:
        rows = [r["sentence"] for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    return rows[:sum(SHARD_ROWS)]


def _shards(folder: Path, rows: list[str], kind: str) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir()
    start = 0
    for i, n in enumerate(SHARD_ROWS):
        part = rows[start:start + n]
        if kind == "parquet":
            pq.write_table(pa.table({"sentence": part, "label": list(range(n))}),
                           folder / f"part-{i}.parquet")
        else:
            (folder / f"part-{i}.jsonl").write_text(
                "".join(json.dumps({"sentence": s, "label": 0}) + "\n" for s in part))
        start += n
    return folder


@pytest.mark.parametrize("kind", ["parquet", "jsonl"])
def test_ray_profile_is_identical_to_the_stream(ray_instance, sst2_rows, minilm_dir, tmp_path, kind):
    folder = _shards(tmp_path / kind, sst2_rows, kind)
    options = dict(data_files=[str(folder)], batch_sizes=(1, 8, 32), progress=False)
    on_ray = profile_dataset(minilm_dir, **options, engine="ray")
    stream = profile_dataset(minilm_dir, **options, streaming=True)
    assert on_ray.to_dict() == stream.to_dict()
    assert on_ray.dataset.rows_sampled == sum(SHARD_ROWS)
    in_memory = profile_dataset(minilm_dir, **options).to_dict()   # all rows, not streamed
    for key in ("axes", "length_counts", "recommendations", "buckets", "padding"):
        assert on_ray.to_dict()[key] == in_memory[key], key
    assert len(on_ray.texts()) > 0 and set(on_ray.texts().values[0]) <= set(sst2_rows)


def test_ray_profile_of_glue_pairs_with_renamed_columns(ray_instance, shared_data, minilm_dir):
    """MRPC's tsv (BOM, unbalanced quotes, '#1 String' -> sentence1): the stream's parsing."""
    options = dict(data_dir=str(shared_data / "glue"), batch_sizes=(1, 8), progress=False)
    on_ray = profile_dataset(minilm_dir, "glue/mrpc", **options, engine="ray")
    stream = profile_dataset(minilm_dir, "glue/mrpc", **options, streaming=True)
    assert on_ray.dataset.spec.text_columns == ("sentence1", "sentence2")
    assert on_ray.to_dict() == stream.to_dict() and on_ray.dataset.rows_sampled == 408


def _dies_once(marker: Path) -> type:
    """A worker whose tokenizer kills its process (os._exit) on the first block it ever sees."""

    class DiesOnce(TokenizeBlocks):
        def lengths(self, texts):
            if not marker.exists():
                marker.write_text(str(os.getpid()))
                os._exit(1)
            return super().lengths(texts)

    return DiesOnce


def test_a_worker_that_dies_is_retried_and_no_row_is_lost(ray_instance, sst2_rows, minilm_dir,
                                                          tmp_path):
    from shapeprof.data.source import resolve_dataset
    from shapeprof.profile.engines.ray_engine import measure_on_ray
    from shapeprof.profile.tokenize import load_tokenizer

    folder = _shards(tmp_path / "parquet", sst2_rows, "parquet")
    ds = resolve_dataset("parquet", data_files=[str(folder)])
    _, info = load_tokenizer(minilm_dir)
    marker = tmp_path / "died"
    measured, run = measure_on_ray(ds, str(minilm_dir), info, (1, 8, 32), progress=False,
                                   worker_class=_dies_once(marker))
    assert marker.exists() and int(marker.read_text()) != os.getpid()   # a worker really died
    assert measured.acc.rows == run.rows_read == sum(SHARD_ROWS)
    stream = profile_dataset(minilm_dir, data_files=[str(folder)], streaming=True, progress=False)
    assert measured.acc.length_counts() == stream.length_counts()


def test_too_many_workers_is_one_line(ray_instance, minilm_dir, shared_data):
    with pytest.raises(ProfileError, match="the Ray cluster has 2 CPUs"):
        profile_dataset(minilm_dir, data_dir=str(shared_data / "glue"), engine="ray", ray_workers=3,
                        progress=False)


def test_a_shard_broken_past_its_first_line_is_named(ray_instance, minilm_dir, tmp_path):
    """The cheap check reads a shard's start; a bad row further in fails in the worker, naming it."""
    from shapeprof.errors import DataError

    (tmp_path / "a.jsonl").write_text('{"sentence": "fine"}\n' * 50)
    (tmp_path / "b.jsonl").write_text('{"sentence": "fine"}\n' * 20 + '{"sentence": broken\n')
    with pytest.raises(DataError, match=r"cannot read '.*b\.jsonl'"):
        profile_dataset(minilm_dir, data_files=[str(tmp_path)], engine="ray", progress=False)
