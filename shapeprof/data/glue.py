"""GLUE tasks: text columns, split files and the quirks of the original TSV layout.

Local files follow the GLUE zip layout (``<data_dir>/SST-2/dev.tsv``, ``MNLI/dev_matched.tsv``, ...).
Columns are renamed to the Hugging Face ``glue`` names (``#1 String`` -> ``sentence1``,
MNLI ``sentence1`` -> ``premise``), so ``text_columns`` mean the same for local and Hub data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError

COLA_COLUMNS = ("source", "label", "original_label", "sentence")


@dataclass(frozen=True)
class GlueTask:
    """One GLUE task: its Hub config name, local folder and text columns (HF names)."""

    name: str                       # Hub config name: "sst2"
    folder: str                     # local folder: "SST-2"
    text_columns: tuple[str, ...]   # HF names, one column or a pair
    renames: dict[str, str] = field(default_factory=dict)  # file column -> HF column
    splits: dict[str, str] = field(default_factory=dict)   # split -> file name, beyond the defaults
    headerless: bool = False        # CoLA train/dev have no header row
    num_labels: int = 2             # classes of the task's label (1: STS-B regression)

    def file_name(self, split: str) -> str:
        files = {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv", **self.splits}
        if split not in files:
            raise DataError(f"GLUE task {self.name!r} has no split {split!r}; "
                            f"choose one of {', '.join(sorted(files))}")
        return files[split]

    def hub_split(self, split: str) -> str:
        return {"validation": "validation_matched", "test": "test_matched"}.get(split, split) \
            if self.name == "mnli" else split

    def column_names(self, split: str) -> list[str] | None:
        """Column names to impose when the file has no header row, else None."""
        return list(COLA_COLUMNS) if self.headerless and split != "test" else None


_MNLI_SPLITS = {"validation": "dev_matched.tsv", "validation_matched": "dev_matched.tsv",
                "validation_mismatched": "dev_mismatched.tsv", "test": "test_matched.tsv",
                "test_matched": "test_matched.tsv", "test_mismatched": "test_mismatched.tsv"}

GLUE_TASKS: dict[str, GlueTask] = {t.name: t for t in (
    GlueTask("cola", "CoLA", ("sentence",), headerless=True),
    GlueTask("sst2", "SST-2", ("sentence",)),
    GlueTask("mrpc", "MRPC", ("sentence1", "sentence2"),
             renames={"#1 String": "sentence1", "#2 String": "sentence2", "Quality": "label"}),
    GlueTask("qqp", "QQP", ("question1", "question2"), renames={"is_duplicate": "label"}),
    GlueTask("stsb", "STS-B", ("sentence1", "sentence2"), renames={"score": "label"}, num_labels=1),
    GlueTask("mnli", "MNLI", ("premise", "hypothesis"),
             renames={"sentence1": "premise", "sentence2": "hypothesis", "gold_label": "label"},
             splits=_MNLI_SPLITS, num_labels=3),
    GlueTask("qnli", "QNLI", ("question", "sentence")),
    GlueTask("rte", "RTE", ("sentence1", "sentence2")),
    GlueTask("wnli", "WNLI", ("sentence1", "sentence2")),
)}

DEFAULT_GLUE_TASK = "sst2"


def glue_task(name: str | None) -> GlueTask:
    """Look a task up by Hub name or folder name, case-insensitively ("SST-2", "sst2", "sts-b")."""
    if not name:
        return GLUE_TASKS[DEFAULT_GLUE_TASK]
    key = name.lower().replace("-", "").replace("_", "")
    if key in GLUE_TASKS:
        return GLUE_TASKS[key]
    raise DataError(f"unknown GLUE task {name!r}; choose one of {', '.join(GLUE_TASKS)} "
                    "(as glue/<task>)")


def glue_file(data_dir: Path, task: GlueTask, split: str) -> Path:
    """Path of a task's split file in GLUE layout; the folder name is matched case-insensitively."""
    name = task.file_name(split)
    folder = Path(data_dir) / task.folder
    if not folder.is_dir() and Path(data_dir).is_dir():
        folder = next((p for p in Path(data_dir).iterdir()
                       if p.is_dir() and p.name.lower() == task.folder.lower()), folder)
    return folder / name
