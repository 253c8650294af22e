"""GLUE resolution: the real dev files in ../shared/data/glue and user-supplied tasks in GLUE layout."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from shapeprof.data import GLUE_TASKS, glue_task, load_texts, resolve_dataset
from shapeprof.errors import DataError

PRESENT = {  # task -> (folder, rows, text columns)
    "sst2": ("SST-2", 872, ("sentence",)),
    "cola": ("CoLA", 1043, ("sentence",)),
    "mrpc": ("MRPC", 408, ("sentence1", "sentence2")),
    "wnli": ("WNLI", 71, ("sentence1", "sentence2")),
    "stsb": ("STS-B", 1500, ("sentence1", "sentence2")),
}


@pytest.mark.parametrize("task", sorted(PRESENT))
def test_present_tasks_load_with_their_text_columns(glue_dir, task):
    folder, rows, columns = PRESENT[task]
    ds = resolve_dataset(f"glue/{task}", data_dir=glue_dir)
    texts, total = load_texts(ds)
    assert total == rows == len(texts)
    assert ds.spec.text_columns == columns == texts.columns
    assert texts.is_pair == (len(columns) == 2)
    assert ds.spec.split == "validation"
    assert ds.spec.files == (str(glue_dir / folder / "dev.tsv"),)


@pytest.mark.parametrize("task", sorted(PRESENT))
def test_texts_match_pandas_reading_with_the_documented_quirks(glue_dir, task):
    folder, _, columns = PRESENT[task]
    kwargs = dict(sep="\t", quoting=csv.QUOTE_NONE, keep_default_na=False, encoding="utf-8-sig")
    if task == "cola":
        kwargs.update(header=None, names=["source", "label", "original_label", "sentence"])
    frame = pd.read_csv(glue_dir / folder / "dev.tsv", **kwargs)
    frame = frame.rename(columns=dict(GLUE_TASKS[task].renames))
    texts, _ = load_texts(resolve_dataset(f"glue/{task}", data_dir=glue_dir))
    for column, values in zip(texts.columns, texts.values):
        assert values == frame[column].astype(str).tolist()


def test_plain_glue_means_sst2_and_task_names_are_forgiving(glue_dir):
    assert resolve_dataset("glue", data_dir=glue_dir).spec.name == "glue/sst2"
    assert glue_task("SST-2").name == glue_task("sst2").name == "sst2"
    assert glue_task("STS-B").name == "stsb"


def test_data_dir_from_environment(glue_dir, monkeypatch):
    monkeypatch.setenv("SHAPEPROF_DATA_DIR", str(glue_dir))
    ds = resolve_dataset("glue/wnli")
    assert ds.spec.kind == "files" and ds.spec.data_dir == str(glue_dir)


def test_train_split_reads_train_tsv(glue_dir):
    ds = resolve_dataset("glue", data_dir=glue_dir, split="train")
    texts, total = load_texts(ds, rows=100, seed=3)
    assert total == 67349 and len(texts) == 100


def test_mrpc_bom_and_column_names(glue_dir):
    ds = resolve_dataset("glue/mrpc", data_dir=glue_dir)
    assert ds.reader.schema().names == ["label", "#1 ID", "#2 ID", "sentence1", "sentence2"]


def test_user_supplied_qnli_in_glue_layout(tmp_path, write_tsv):
    write_tsv(tmp_path / "QNLI" / "dev.tsv", ["index", "question", "sentence", "label"],
              [["0", 'What is "it?', "It is a NA thing.", "entailment"],
               ["1", "null", "Second sentence.", "not_entailment"]])
    texts, total = load_texts(resolve_dataset("glue/qnli", data_dir=tmp_path))
    assert total == 2 and texts.columns == ("question", "sentence")
    assert texts.inputs() == [('What is "it?', "It is a NA thing."), ("null", "Second sentence.")]


def test_user_supplied_mnli_matched_and_mismatched(tmp_path, write_tsv):
    header = ["index", "promptID", "pairID", "genre", "sentence1", "sentence2", "label1", "gold_label"]
    write_tsv(tmp_path / "MNLI" / "dev_matched.tsv", header,
              [["0", "1", "1e", "fiction", "A premise.", "A hypothesis.", "neutral", "neutral"]])
    write_tsv(tmp_path / "MNLI" / "dev_mismatched.tsv", header,
              [["0", "2", "2e", "letters", "Other premise.", "Other one.", "neutral", "neutral"],
               ["1", "3", "3e", "letters", "P.", "H.", "neutral", "neutral"]])
    matched = resolve_dataset("glue/mnli", data_dir=tmp_path)
    texts, _ = load_texts(matched)
    assert matched.spec.text_columns == ("premise", "hypothesis")
    assert texts.inputs() == [("A premise.", "A hypothesis.")]
    mismatched = resolve_dataset("glue/mnli", data_dir=tmp_path, split="validation_mismatched")
    assert load_texts(mismatched)[1] == 2


def test_user_supplied_cola_train_has_no_header(tmp_path, write_tsv):
    write_tsv(tmp_path / "CoLA" / "train.tsv", None, [["src", "1", "", "One."], ["src", "0", "*", "Two."]])
    texts, total = load_texts(resolve_dataset("glue/cola", data_dir=tmp_path, split="train"))
    assert total == 2 and texts.values[0] == ["One.", "Two."]


@pytest.mark.parametrize("task,columns", [("qqp", ("question1", "question2")),
                                          ("rte", ("sentence1", "sentence2")),
                                          ("qnli", ("question", "sentence")),
                                          ("mnli", ("premise", "hypothesis")),
                                          ("cola", ("sentence",)), ("sst2", ("sentence",))])
def test_every_task_knows_its_text_columns(task, columns):
    assert GLUE_TASKS[task].text_columns == columns


def test_glue_task_table_is_complete():
    assert set(GLUE_TASKS) == {"cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte", "wnli"}


def test_unknown_task_lists_valid_ones(glue_dir):
    with pytest.raises(DataError) as info:
        resolve_dataset("glue/sst3", data_dir=glue_dir)
    message = str(info.value)
    assert "\n" not in message and "sst3" in message
    assert all(t in message for t in GLUE_TASKS)


def test_task_not_present_names_the_path_and_fix(glue_dir):
    with pytest.raises(DataError) as info:
        resolve_dataset("glue/rte", data_dir=glue_dir)
    message = str(info.value)
    assert "\n" not in message and "RTE/dev.tsv" in message and "--data-dir" in message


def test_unknown_split(glue_dir):
    with pytest.raises(DataError, match="no split 'dev'.*train"):
        resolve_dataset("glue", data_dir=glue_dir, split="dev")


def test_offline_without_data_dir_says_how_to_fix():
    with pytest.raises(DataError) as info:
        resolve_dataset("glue/wnli")
    message = str(info.value)
    assert "\n" not in message and "SHAPEPROF_DATA_DIR" in message and "--data-dir" in message
