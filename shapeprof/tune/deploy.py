"""``deploy.json`` and the files that serve with it: the chosen graph, the tokenizer, ``serve.py``.

deploy.json says everything a server needs to reproduce the measured configuration: the model
file, the session options (threads, denormals flushed, optimisation level), the batching policy
with its bucket edges or window, the batch size, the number of sessions, the inputs and which
output to return (mean-pooled for embedding models). ``serve.py`` (``shapeprof.tune.snippet``)
reads it and serves a list of texts exactly so.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .. import schema
from ..atomic import write_json
from ..bench.model_dir import ModelDir
from ..layout import CONFIG_FILE, DEPLOY_FILE, SERVE_SCRIPT, TOKENIZER_FILES
from .candidates import Candidate
from .measure import SessionSpec

EXTRA_TOKENIZER_FILES = ("special_tokens_map.json", "merges.txt", "vocab.json", "sentencepiece.bpe.model",
                         "spiece.model", "tokenizer.model", "added_tokens.json")


def output_of(model: ModelDir) -> tuple[str, str | None]:
    """(output to return, pooling): mean-pooled hidden states for embeddings, else the first output."""
    names = list(model.outputs)
    if "last_hidden_state" in names and model.task in ("feature-extraction", "default", "sentence-similarity"):
        return "last_hidden_state", "mean"
    return names[0], None


def deploy_record(model: ModelDir, winner: Candidate, model_file: str) -> dict[str, Any]:
    output, pooling = output_of(model)
    spec = SessionSpec(threads=winner.layout.threads)
    return {"schema_version": schema.current("deploy"), "model_file": model_file, "variant": winner.variant,
            "task": model.task, "providers": ["CPUExecutionProvider"], "session_options": spec.options(),
            "sessions": winner.layout.sessions, "batching": winner.batching.to_dict(),
            "batch_size": winner.batch_size, "max_length": int(model.max_length or 512),
            "inputs": list(model.inputs), "output": output, "pooling": pooling}


def write_deploy(directory: Path, model: ModelDir, winner: Candidate, graph: Path) -> dict[str, Any]:
    """The chosen graph, the tokenizer and config, deploy.json and serve.py, into ``directory``."""
    from . import snippet

    shutil.copyfile(graph, directory / graph.name)
    for name in (CONFIG_FILE, *TOKENIZER_FILES, *EXTRA_TOKENIZER_FILES):
        if (model.path / name).is_file():
            shutil.copyfile(model.path / name, directory / name)
    record = deploy_record(model, winner, graph.name)
    write_json(directory / DEPLOY_FILE, record)
    (directory / SERVE_SCRIPT).write_text(Path(snippet.__file__).read_text(encoding="utf-8"), encoding="utf-8")
    return record


def load_deploy(path: str | Path) -> dict[str, Any]:
    """A deploy.json, version checked (and migrated when older)."""
    return schema.load("deploy", path)
