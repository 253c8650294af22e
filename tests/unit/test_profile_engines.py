"""The engine seam without a cluster: block summaries merge exactly, and bad Ray input fails early.

The Ray jobs themselves (identical profiles, a worker killed mid-run) run on a real local Ray
instance in tests/integration/test_profile_ray.py.
"""

from __future__ import annotations

import socket
import sys

import numpy as np
import pytest

from shapeprof.cli import main
from shapeprof.data.readers import FileFormat
from shapeprof.data.rows import TextRows
from shapeprof.data.shards import check_shards, expand_shards
from shapeprof.errors import DataError, ProfileError
from shapeprof.profile.engines.blocks import BlockMerger, BlockSummary, summarize_block
from shapeprof.profile.engines.ray_cluster import check_reachable
from shapeprof.profile.measure import LengthAccumulator

BATCH_SIZES = (1, 3, 8, 32)


def _texts(n: int, start: int = 0) -> TextRows:
    return TextRows(("text",), ([f"row {start + i}" for i in range(n)],))


def _state(acc: LengthAccumulator) -> tuple:
    return (acc.length_counts(), acc.rows, acc.truncated, acc.natural_max,
            [(policy, p.batch_size, p.finish()) for policy, p in acc.in_batch])


@pytest.mark.parametrize("max_length", [None, 40])
def test_merged_blocks_equal_one_pass_over_the_rows(max_length):
    """Blocks of every awkward size (1 row, < b, not multiples of b) give the one-pass state."""
    rng = np.random.default_rng(0)
    natural = rng.integers(1, 70, size=2000)
    sizes = [1, 2, 5, 7, 31, 33, 64, 100, 1, 250, 3]
    sizes.append(len(natural) - sum(sizes))
    one_pass = LengthAccumulator(max_length, BATCH_SIZES)
    one_pass.add(natural)
    merger = BlockMerger(max_length, BATCH_SIZES, ("text",))
    start = 0
    for size in sizes:
        block = summarize_block(_texts(size, start), natural[start:start + size], max_length,
                                BATCH_SIZES, seed=0)
        merger.add(BlockSummary.from_json(block.to_json()))   # as it travels from a worker
        start += size
    assert merger.rows_read == len(natural) and merger.blocks == len(sizes)
    assert _state(merger.acc) == _state(one_pass)


def test_block_order_matters_for_in_batch_padding():
    """The check can fail: the same blocks merged out of order pad differently."""
    natural = np.array([1, 50, 1, 1, 50, 1, 1, 1, 50, 2, 2], dtype=np.int64)
    blocks = [summarize_block(_texts(len(part)), part, None, (3,), 0)
              for part in (natural[:4], natural[4:])]
    ordered, swapped = BlockMerger(None, (3,), ("text",)), BlockMerger(None, (3,), ("text",))
    for block in blocks:
        ordered.add(block)
    for block in reversed(blocks):
        swapped.add(block)
    one_pass = LengthAccumulator(None, (3,))
    one_pass.add(natural)
    assert _state(ordered.acc) == _state(one_pass) != _state(swapped.acc)


def test_examples_are_a_seeded_sample_of_rows():
    merger = BlockMerger(None, (1,), ("text",))
    for start in range(0, 1000, 100):
        merger.add(summarize_block(_texts(100, start), np.full(100, 5), None, (1,), seed=3))
    texts = merger.measurement().texts
    assert 0 < len(texts) <= 1000 and set(texts.values[0]) <= {f"row {i}" for i in range(1000)}


# ---- shards: folders, globs, cheap checks naming the file ------------------------------------

def _parquet(path, rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"sentence": rows}), path)
    return path


def test_folders_and_globs_expand_to_sorted_shards(tmp_path):
    for name in ("b.parquet", "a.parquet", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.parquet").write_bytes(b"x")
    assert [p.name for p in expand_shards([tmp_path])] == ["a.parquet", "b.parquet", "c.parquet"]
    assert [p.name for p in expand_shards([str(tmp_path / "*.parquet")])] == ["a.parquet", "b.parquet"]
    with pytest.raises(DataError, match="holds no data files"):
        expand_shards([str(tmp_path / "*.jsonl")])


def test_check_shards_counts_parquet_rows_and_names_a_broken_shard(tmp_path):
    good = [_parquet(tmp_path / f"{i}.parquet", ["a", "b", "c"]) for i in range(2)]
    assert check_shards(good, FileFormat("parquet")) == 6
    bad = tmp_path / "2.parquet"
    bad.write_bytes(b"not a parquet file at all")
    with pytest.raises(DataError, match="2.parquet"):
        check_shards([*good, bad], FileFormat("parquet"))


@pytest.mark.parametrize("first, match", [(b'{"sentence": "ok"', "bad.jsonl"),
                                          (b'[{"sentence": "ok"}]', "JSON array"),
                                          (b'"just a string"', "not a JSON object")])
def test_check_shards_names_a_bad_jsonl_shard(tmp_path, first, match):
    (tmp_path / "good.jsonl").write_text('{"sentence": "fine"}\n')
    (tmp_path / "bad.jsonl").write_bytes(first + b"\n")
    with pytest.raises(DataError, match=match):
        check_shards([tmp_path / "good.jsonl", tmp_path / "bad.jsonl"], FileFormat("json"))


def test_bad_shard_is_one_line_before_any_cluster(tmp_path, minilm_dir, capsys):
    _parquet(tmp_path / "0.parquet", ["a fine sentence"] * 5)
    (tmp_path / "1.parquet").write_bytes(b"PAR1 truncated")
    code = main(["profile", "--engine", "ray", "--model", str(minilm_dir),
                 "--data-files", str(tmp_path), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "1.parquet" in err and err.startswith("data error: cannot read")


# ---- cluster options ----------------------------------------------------------------------

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_address_is_one_line_and_quick(minilm_dir, glue_dir, capsys):
    address = f"127.0.0.1:{_closed_port()}"
    code = main(["profile", "--engine", "ray", "--ray-address", address, "--model", str(minilm_dir),
                 "--data-dir", str(glue_dir), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert f"cannot reach the Ray cluster at '{address}'" in err


def test_ray_address_from_the_environment_is_checked_too(monkeypatch):
    from shapeprof.profile.engines.ray_cluster import ray_cluster

    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{_closed_port()}")
    with pytest.raises(ProfileError, match="cannot reach the Ray cluster"):
        with ray_cluster():
            pass


@pytest.mark.parametrize("address", ["nohost", "host:port", ":6379"])
def test_malformed_address(address):
    with pytest.raises(ProfileError, match="is not HOST:PORT"):
        check_reachable(address)


def test_missing_ray_names_the_extra(monkeypatch, minilm_dir, glue_dir, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)        # `import ray` raises ImportError
    monkeypatch.setitem(sys.modules, "ray.data", None)
    code = main(["profile", "--engine", "ray", "--model", str(minilm_dir),
                 "--data-dir", str(glue_dir), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "pip install 'shapeprof[ray]'" in err


@pytest.mark.parametrize("argv, match", [
    (["--ray-address", "10.0.0.1:6379"], "--ray-address apply to --engine ray"),
    (["--engine", "ray", "--rows", "100"], "drop --rows"),
])
def test_engine_option_errors(argv, match, minilm_dir, capsys):
    code = main(["profile", "--model", str(minilm_dir), "-q", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and match in err
