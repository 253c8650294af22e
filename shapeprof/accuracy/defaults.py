"""The default accuracy data of each model kind, and which GLUE task a classifier's labels match."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EMBEDDING_DEFAULT = "glue/stsb"         # STS-B dev: sentence pairs with gold similarity scores
GENERATIVE_DEFAULT = "glue/sst2"        # held-out English text (SST-2 dev sentences)
CLASSIFIER_DEFAULT = "glue/sst2"
GENERATIVE_ROWS = 256                   # rows scored by default for generative models

# Label names (lower case) of a fine-tuned head -> the GLUE task they come from.
LABEL_TASKS: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"negative", "positive"}), "glue/sst2"),
    (frozenset({"unacceptable", "acceptable"}), "glue/cola"),
    (frozenset({"not_equivalent", "equivalent"}), "glue/mrpc"),
    (frozenset({"not_duplicate", "duplicate"}), "glue/qqp"),
    (frozenset({"entailment", "neutral", "contradiction"}), "glue/mnli"),
    (frozenset({"entailment", "not_entailment"}), "glue/rte"),
)
# The GLUE metric reported per task (F1 where GLUE reports it, Spearman for the regression task).
TASK_METRICS = {"mrpc": "f1", "qqp": "f1", "stsb": "spearman x100"}


def default_source(kind: str, config: Mapping[str, Any] | None = None) -> str:
    """The dataset scored when none is given."""
    if kind == "embedding":
        return EMBEDDING_DEFAULT
    if kind == "generative":
        return GENERATIVE_DEFAULT
    return classifier_task(config or {})


def classifier_task(config: Mapping[str, Any]) -> str:
    """The GLUE task whose labels the classifier's ``id2label`` names, else SST-2 (two labels)."""
    labels = {str(v).lower().replace(" ", "_") for v in (config.get("id2label") or {}).values()}
    if int(config.get("num_labels") or len(labels) or 2) == 1 or len(labels) == 1:
        return "glue/stsb"
    for names, task in LABEL_TASKS:
        if labels == names:
            return task
    return CLASSIFIER_DEFAULT


def num_labels(config: Mapping[str, Any]) -> int:
    return int(config.get("num_labels") or len(config.get("id2label") or {}) or 2)
