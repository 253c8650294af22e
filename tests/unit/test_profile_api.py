"""profile_dataset end to end on real GLUE files, with the MiniLM and GPT-2 tokenizers."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from shapeprof.data import TextRows, load_texts, resolve_dataset
from shapeprof.errors import ProfileError
from shapeprof.profile import (SCHEMA_VERSION, LengthCounter, ShapeProfile, profile_dataset,
                               real_batches)


@pytest.fixture(scope="module")
def sst2(glue_dir):
    return profile_dataset(None, "glue", data_dir=glue_dir, progress=False)


def wrapper_lengths(tokenizer, texts: TextRows) -> np.ndarray:
    pair = texts.values[1] if texts.is_pair else None
    out = tokenizer(texts.values[0], pair, return_attention_mask=False)
    return np.array([len(ids) for ids in out["input_ids"]])


@pytest.mark.parametrize("task", ["sst2", "mrpc", "stsb"])
@pytest.mark.parametrize("which", ["minilm", "gpt2"])
def test_fast_lengths_equal_the_tokenizer_call(glue_dir, task, which, request):
    tokenizer = request.getfixturevalue(which)
    texts, _ = load_texts(resolve_dataset(f"glue/{task}", data_dir=glue_dir), rows=200)
    counter = LengthCounter(tokenizer)
    assert counter.backend is not None
    fast = counter(texts)
    assert np.array_equal(fast, wrapper_lengths(tokenizer, texts))
    counter.backend = None                          # the pure-transformers path agrees too
    assert np.array_equal(counter(texts), fast)


def test_sst2_dev_profile(sst2, minilm, glue_dir):
    texts, _ = load_texts(resolve_dataset("glue", data_dir=glue_dir))
    lengths = wrapper_lengths(minilm, texts)
    assert sst2.length_counts() == dict(Counter(lengths.tolist()))
    seq = sst2.sequence
    assert (seq.rows, seq.min, seq.max, seq.truncated_rows) == (872, lengths.min(), lengths.max(), 0)
    for q in (50, 90, 95, 99):
        assert seq.p(q) == pytest.approx(np.percentile(lengths, q))
    assert sst2.model.model_type == "bert" and sst2.model.max_length == 512
    assert sst2.model.input_names == ("input_ids", "token_type_ids", "attention_mask")
    assert sst2.dataset.rows_sampled == sst2.dataset.rows_total == 872
    assert sst2.dataset.sampling == "all rows"


def test_stage_interfaces(sst2):
    seq = sst2.sequence
    trace = sst2.trace_shapes()
    assert trace["batch_size"] >= 2 and trace["sequence_length"] >= 2
    assert trace["sequence_length"] == int(np.ceil(seq.p(50)))
    assert sst2.bounds() == {"batch_size": (1, None), "sequence_length": (seq.min, seq.max)}
    assert sst2.static_shapes() == {}
    assert sum(sst2.length_weights().values()) == pytest.approx(1.0)
    assert sst2.trtexec_args(["input_ids"]) == (
        f"--minShapes=input_ids:1x{seq.min} --optShapes=input_ids:8x{trace['sequence_length']} "
        f"--maxShapes=input_ids:32x{seq.max}")
    assert set(sst2.ort_trt_options()) == {f"trt_profile_{w}_shapes" for w in ("min", "opt", "max")}


def test_padding_policies(sst2):
    by_label = {w.label: w for w in sst2.padding}
    real = sum(k * v for k, v in sst2.length_counts().items())
    assert by_label["max_length (512)"].padded_tokens == 512 * 872 - real
    assert by_label["longest @ batch 1"].padded_tokens == 0
    assert by_label["buckets"].padded_tokens == sst2.buckets.padded_tokens
    assert by_label["buckets"].waste < by_label["longest @ batch 32"].waste < by_label["fixed (128)"].waste
    assert by_label["multiple_of_8 @ batch 8"].waste >= by_label["longest @ batch 8"].waste


def test_json_round_trip(sst2, tmp_path):
    path = sst2.save(tmp_path / "profile.json")
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["length_counts"] == {str(k): v for k, v in sorted(sst2.length_counts().items())}
    assert data["recommendations"]["trtexec"].startswith("--minShapes=input_ids:1x")
    loaded = ShapeProfile.load(path)
    assert loaded == sst2 and loaded.to_dict() == sst2.to_dict()
    assert loaded.summary() == sst2.summary()
    assert loaded.sample is None and loaded.texts().values == sst2.texts().values


def test_load_errors(sst2, tmp_path):
    data = sst2.to_dict()
    data["schema_version"] = 99
    (tmp_path / "future.json").write_text(json.dumps(data))
    for path, pattern in [(tmp_path / "future.json", "schema_version 99"),
                          (tmp_path / "missing.json", "not found")]:
        with pytest.raises(ProfileError, match=pattern) as info:
            ShapeProfile.load(path)
        assert "\n" not in str(info.value)
    del data["axes"]
    data["schema_version"] = SCHEMA_VERSION
    with pytest.raises(ProfileError, match="missing or has a bad field"):
        ShapeProfile.from_dict(data)


def test_real_batches_at_recommended_shapes(sst2, minilm):
    batches = sst2.real_batches(minilm)
    assert [label for label, _ in batches] == ["min", "opt", "max"]
    for (label, feeds), (_, b, n) in zip(batches, sst2.default_batch_shapes()):
        assert set(feeds) == {"input_ids", "token_type_ids", "attention_mask"}
        for array in feeds.values():
            assert array.shape == (b, n) and array.dtype == np.int64
    _, opt = batches[1]
    assert opt["attention_mask"].all()          # many SST-2 rows have exactly the median length
    _, longest = batches[2]
    assert longest["attention_mask"][0].all() and not longest["attention_mask"].all()


def test_real_batches_pairs_truncate_and_pad(minilm, gpt2, glue_dir):
    texts, _ = load_texts(resolve_dataset("glue/mrpc", data_dir=glue_dir), rows=50)
    [(_, feeds)] = real_batches(minilm, texts, [("short", 3, 16)])
    assert feeds["input_ids"].shape == (3, 16) and feeds["token_type_ids"].max() == 1
    assert feeds["attention_mask"].all()        # cut to 16, no row is that short
    [(_, feeds)] = real_batches(gpt2, ["hi", "a b c d e f g h"], [("pad", 4, 6)])
    assert set(feeds) == {"input_ids", "attention_mask"} and feeds["input_ids"].shape == (4, 6)
    assert feeds["attention_mask"].sum(axis=1).tolist() == [6, 1, 6, 1]  # closest first, cycled
    assert feeds["input_ids"][1, 1] == gpt2.eos_token_id                  # no pad token: eos pads


def test_gpt2_model_identity(gpt2_dir, glue_dir):
    profile = profile_dataset(gpt2_dir, "glue/wnli", data_dir=glue_dir, progress=False)
    assert profile.model.model_type == "gpt2" and profile.model.max_length == 1024
    assert profile.model.input_names == ("input_ids", "attention_mask")
    assert profile.dataset.spec.text_columns == ("sentence1", "sentence2")
    assert "token_type_ids" not in profile.trtexec_args()


def test_truncation_is_counted(tmp_path, minilm_dir):
    path = tmp_path / "long.jsonl"
    rows = [{"text": "word " * 700}, {"text": "short one"}, {"text": "x " * 510}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    profile = profile_dataset(minilm_dir, data_files=path, progress=False, batch_sizes=(2,))
    seq = profile.sequence
    assert seq.truncated_rows == 1 and seq.max == 512 and seq.natural_max > 700
    assert profile.length_counts()[512] == 2           # the 700-word row is cut to 512
    assert profile.bounds()["sequence_length"][1] == 512


def test_streaming_all_rows_equals_in_memory(glue_dir, minilm_dir, sst2, monkeypatch):
    import shapeprof.data.load as load

    monkeypatch.setattr(load, "CHUNK_ROWS", 100)          # many chunks and carried batches
    streamed = profile_dataset(minilm_dir, "glue", data_dir=glue_dir, streaming=True,
                               progress=False)
    assert streamed.length_counts() == sst2.length_counts()
    assert streamed.padding == sst2.padding and streamed.axes == sst2.axes
    assert streamed.dataset.sampling == "stream (all rows)"


def test_sampled_rows_are_seeded(glue_dir, minilm_dir):
    a = profile_dataset(minilm_dir, "glue", data_dir=glue_dir, rows=100, seed=1, progress=False)
    b = profile_dataset(minilm_dir, "glue", data_dir=glue_dir, rows=100, seed=1, progress=False)
    c = profile_dataset(minilm_dir, "glue", data_dir=glue_dir, rows=100, seed=1, streaming=True,
                        progress=False)
    assert a.length_counts() == b.length_counts() and a.sequence.rows == 100
    assert a.dataset.sampling == "random subset" and c.dataset.sampling == "reservoir sample"
    assert c.sequence.rows == 100 and c.dataset.rows_total == 872


def test_given_buckets_and_batch_sizes(glue_dir, minilm_dir):
    profile = profile_dataset(minilm_dir, "glue/cola", data_dir=glue_dir, buckets=2,
                              batch_sizes=(4, 16), progress=False)
    assert profile.buckets.k == 2 and profile.buckets.rule == "given"
    assert profile.shape_ranges()["batch_size"].max == 16
    assert {w.batch_size for w in profile.padding if w.batch_size} == {4, 16}


@pytest.mark.parametrize("kwargs", [{"rows": 0}, {"batch_sizes": (0,)}, {"buckets": 0}])
def test_bad_arguments(kwargs, glue_dir):
    with pytest.raises(ProfileError):
        profile_dataset(None, "glue", data_dir=glue_dir, **kwargs)
