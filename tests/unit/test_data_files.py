"""Local csv/tsv/json/jsonl/parquet files: reading, text-column inference, errors, sampling."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shapeprof.data import (Reservoir, TextRows, iter_texts, load_texts, resolve_dataset,
                            sample_indices, stream_sample)
from shapeprof.errors import DataError

ROWS = [{"id": i, "text": f"row number {i}", "label": i % 2} for i in range(10)]


def write(tmp_path, kind, rows=ROWS):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / f"data.{kind}"
    if kind == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    elif kind == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif kind == "json":
        path.write_text(json.dumps(rows))
    else:
        sep = "," if kind == "csv" else "\t"
        names = list(rows[0]) if rows else ["id", "text", "label"]
        lines = [sep.join(names)] + [sep.join(str(r[n]) for n in names) for r in rows]
        path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("kind", ["csv", "tsv", "json", "jsonl", "parquet"])
def test_each_format_loads_and_infers_text(tmp_path, kind):
    ds = resolve_dataset(data_files=[write(tmp_path, kind)])
    texts, total = load_texts(ds)
    assert ds.spec.text_columns == ("text",) and total == 10
    assert texts.values[0] == [r["text"] for r in ROWS]


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_streaming_chunks_cover_every_row_in_order(tmp_path, kind):
    rows = [{"text": f"t{i}", "n": i} for i in range(1000)]
    ds = resolve_dataset(data_files=write(tmp_path, kind, rows), streaming=True)
    out = TextRows.concat(("text",), iter_texts(ds, chunk_rows=64))
    assert out.values[0] == [r["text"] for r in rows]


def test_dataset_may_be_a_file_path(tmp_path):
    path = write(tmp_path, "csv")
    assert resolve_dataset(str(path)).spec.files == (str(path.resolve()),)


def test_csv_quotes_and_na_strings(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('text,other\n"a, quoted ""text""",NA\nnull,\n')
    texts, _ = load_texts(resolve_dataset(data_files=path, text_columns="text,other"))
    assert texts.inputs() == [('a, quoted "text"', "NA"), ("null", "")]


def test_pair_inference_prefers_known_names(tmp_path):
    rows = [{"idx": "a", "premise": "p", "hypothesis": "h", "text": "t"}]
    ds = resolve_dataset(data_files=write(tmp_path, "jsonl", rows))
    assert ds.spec.text_columns == ("premise", "hypothesis")


def test_question_context_pair(tmp_path):
    rows = [{"id": "x", "question": "q?", "context": "c.", "title": "t"}]
    assert resolve_dataset(data_files=write(tmp_path, "parquet", rows)).spec.text_columns == \
        ("question", "context")


def test_falls_back_to_first_string_column(tmp_path):
    rows = [{"n": 1, "body_text": "x", "other": "y"}]
    assert resolve_dataset(data_files=write(tmp_path, "jsonl", rows)).spec.text_columns == ("body_text",)


def test_override_text_columns(tmp_path):
    rows = [{"a": "one", "b": "two", "text": "t"}]
    ds = resolve_dataset(data_files=write(tmp_path, "parquet", rows), text_columns=["b", "a"])
    assert load_texts(ds)[0].inputs() == [("two", "one")]


def test_data_files_mapping_picks_split(tmp_path):
    first, second = write(tmp_path, "csv"), tmp_path / "other.csv"
    second.write_text("text\nonly one\n")
    ds = resolve_dataset(data_files={"train": [first], "validation": [second]})
    assert ds.spec.split == "validation" and load_texts(ds)[1] == 1
    assert load_texts(resolve_dataset(data_files={"train": first}, split="train"))[1] == 10


def test_several_files_concatenate(tmp_path):
    a = write(tmp_path, "csv")
    b = tmp_path / "b.csv"
    b.write_text(a.read_text())
    assert load_texts(resolve_dataset(data_files=[a, b]))[1] == 20


# --- errors: one line, naming the problem and the fix -----------------------------------


def one_line(info):
    message = str(info.value)
    assert "\n" not in message and message.startswith("data error:")
    return message


def test_missing_column_lists_available(tmp_path):
    with pytest.raises(DataError) as info:
        resolve_dataset(data_files=write(tmp_path, "csv"), text_columns="sentence")
    message = one_line(info)
    assert "'sentence' not found" in message and "id, text, label" in message


def test_non_text_column_is_refused(tmp_path):
    with pytest.raises(DataError) as info:
        resolve_dataset(data_files=write(tmp_path, "parquet"), text_columns="label")
    message = one_line(info)
    assert "'label'" in message and "int64" in message and "text columns: text" in message


def test_no_text_column_at_all(tmp_path):
    with pytest.raises(DataError) as info:
        resolve_dataset(data_files=write(tmp_path, "jsonl", [{"a": 1, "b": 2.0}]))
    assert "--text-columns" in one_line(info)


def test_three_text_columns_refused(tmp_path):
    rows = [{"a": "x", "b": "y", "c": "z"}]
    with pytest.raises(DataError) as info:
        resolve_dataset(data_files=write(tmp_path, "jsonl", rows), text_columns="a,b,c")
    assert "one or two" in one_line(info)


@pytest.mark.parametrize("streaming", [False, True])
def test_empty_dataset(tmp_path, streaming):
    path = tmp_path / "empty.csv"
    path.write_text("text,label\n")
    ds = resolve_dataset(data_files=path, streaming=streaming)
    with pytest.raises(DataError) as info:
        (stream_sample(ds, 5) if streaming else load_texts(ds))
    assert "has no rows" in one_line(info)


def test_missing_file(tmp_path):
    with pytest.raises(DataError) as info:
        resolve_dataset(data_files=tmp_path / "nope.csv")
    assert "does not exist" in one_line(info) and "nope.csv" in str(info.value)


def test_unreadable_file(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"this is not parquet")
    with pytest.raises(DataError) as info:
        resolve_dataset(data_files=path)
    assert "cannot read" in one_line(info)


def test_unknown_suffix(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_text("x")
    with pytest.raises(DataError) as info:
        resolve_dataset(data_files=path)
    assert ".parquet" in one_line(info)


# --- sampling ---------------------------------------------------------------------------


def test_sample_indices_seeded_sorted_unique():
    a, b = sample_indices(1000, 50, 7), sample_indices(1000, 50, 7)
    assert np.array_equal(a, b) and len(np.unique(a)) == 50 and np.all(np.diff(a) > 0)
    assert not np.array_equal(a, sample_indices(1000, 50, 8))
    assert sample_indices(10, 50, 0) is None and sample_indices(10, None, 0) is None


def test_load_texts_subset_keeps_data_order(glue_dir):
    ds = resolve_dataset("glue", data_dir=glue_dir)
    full, _ = load_texts(ds)
    part, total = load_texts(ds, rows=20, seed=1)
    assert total == 872 and len(part) == 20
    positions = [full.values[0].index(t) for t in part.values[0]]
    assert positions == sorted(positions)


def test_reservoir_is_seeded_ordered_and_chunking_free():
    rows = TextRows(("text",), ([f"r{i}" for i in range(5000)],))

    def run(chunk, seed):
        res = Reservoir(100, ("text",), seed)
        for start in range(0, len(rows), chunk):
            res.add(TextRows(("text",), (rows.values[0][start:start + chunk],)))
        return res.result().values[0]

    once = run(5000, 1)
    assert once == run(5000, 1) and once != run(5000, 2)
    assert len(set(once)) == 100
    numbers = [int(t[1:]) for t in once]
    assert numbers == sorted(numbers)


def test_reservoir_is_roughly_uniform():
    hits = np.zeros(10)
    for seed in range(300):
        res = Reservoir(5, ("t",), seed)
        for start in range(0, 1000, 128):
            res.add(TextRows(("t",), ([str(i) for i in range(start, min(start + 128, 1000))],)))
        for t in res.result().values[0]:
            hits[int(t) // 100] += 1
    assert hits.sum() == 1500 and hits.min() > 100 and hits.max() < 200   # expected 150 each


def test_reservoir_smaller_stream_keeps_all():
    res = Reservoir(100, ("t",), 0)
    res.add(TextRows(("t",), (["a", "b"],)))
    assert res.result().values[0] == ["a", "b"] and res.seen == 2


def test_stream_sample_from_glue_train(glue_dir):
    ds = resolve_dataset("glue", data_dir=glue_dir, split="train", streaming=True)
    texts, total = stream_sample(ds, 50, seed=0, chunk_rows=10000)
    assert total == 67349 and len(texts) == 50


# --- datasets.load_dataset (Hub ids; a local folder exercises the same path offline) -----


@pytest.mark.parametrize("streaming", [False, True])
def test_datasets_library_path(tmp_path, streaming, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    folder = tmp_path / "my_dataset"
    folder.mkdir()
    (folder / "validation.csv").write_text("sentence,label\nfirst one,0\nsecond,1\n")
    ds = resolve_dataset(str(folder), streaming=streaming)
    assert ds.spec.kind == "hub" and ds.spec.text_columns == ("sentence",)
    assert ds.spec.split == "validation"
    texts = (stream_sample(ds, 10)[0] if streaming else load_texts(ds)[0])
    assert texts.values[0] == ["first one", "second"]


def test_unknown_hub_dataset_is_one_line():
    with pytest.raises(DataError) as info:
        resolve_dataset("no-such-owner/no-such-dataset")
    message = one_line(info)
    assert "no-such-owner/no-such-dataset" in message and "--data-files" in message
