"""An exported model directory (the output of ``shapeprof export``), checked for benchmarking."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import schema
from ..errors import BenchError
from ..layout import CONFIG_FILE, ENCODER_FILE, EXPORT_RECORD as INFO_FILE, ONNX_FILE, TOKENIZER_FILES, WEIGHT_FILES



@dataclass(frozen=True)
class ModelDir:
    """Paths and metadata of an exported model."""

    path: Path
    model_type: str
    task: str
    inputs: dict[str, dict[int, str]]
    outputs: dict[str, dict[int, str]]
    max_length: int | None
    config: dict[str, Any]
    source: str | None = None          # the exported model's directory, when the export recorded it
    verification_passed: bool | None = None   # as recorded by the export

    @property
    def onnx_path(self) -> Path:
        return self.path / ONNX_FILE

    @property
    def has_torch_weights(self) -> bool:
        return any((self.path / f).is_file() for f in WEIGHT_FILES)

    @property
    def has_tokenizer(self) -> bool:
        return any((self.path / f).is_file() for f in TOKENIZER_FILES)

    @property
    def vocab_size(self) -> int:
        return int(self.config.get("vocab_size") or 100)

    def summary(self) -> dict[str, Any]:
        """What results record about the model; ``shapeprof compare`` gates on the exact facts."""
        return {"path": str(self.path), "model_type": self.model_type, "task": self.task,
                "inputs": {k: {str(i): a for i, a in v.items()} for k, v in self.inputs.items()},
                "outputs": {k: {str(i): a for i, a in v.items()} for k, v in self.outputs.items()},
                "max_length": self.max_length, "op_counts": op_counts(self.onnx_path),
                "verification_passed": self.verification_passed}


def open_model_dir(path: str | Path) -> ModelDir:
    """Read MODEL_DIR; a one-line BenchError when a required file is missing."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise BenchError(f"model directory {str(path)!r} does not exist; create it with "
                         "'shapeprof export OUTPUT_DIR'")
    if (path / ENCODER_FILE).is_file() and not (path / ONNX_FILE).is_file():
        raise BenchError(f"{str(path)!r} holds an encoder-decoder export (encoder_model.onnx + "
                         "decoder_model.onnx); shapeprof bench times single-graph exports and decoders "
                         "with past, so benchmark those")
    for name in (ONNX_FILE, CONFIG_FILE, INFO_FILE):
        if not (path / name).is_file():
            raise BenchError(f"{str(path)!r} has no {name}; benchmark a directory written by "
                             "'shapeprof export' (re-export it if files were removed)")
    info = schema.load("export", path / INFO_FILE, BenchError)   # older records migrated
    config = _read_json(path / CONFIG_FILE)
    return ModelDir(path, str(info.get("model_type") or config.get("model_type")), str(info["task"]),
                    _axes(info["inputs"]), _axes(info["outputs"]), _max_length(info, config), config,
                    info.get("source") or info.get("model_source"), info.get("verification_passed"))


def op_counts(path: Path) -> dict[str, int]:
    """Node count per op type of the ONNX graph (subgraphs included), weights not loaded."""
    import onnx

    counts: dict[str, int] = {}

    def walk(graph: Any) -> None:
        for node in graph.node:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
            for attr in node.attribute:
                if attr.g.node:
                    walk(attr.g)

    walk(onnx.load(str(path), load_external_data=False).graph)
    return dict(sorted(counts.items()))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BenchError(f"cannot read {str(path)!r} ({e}); re-export the model") from e


def _axes(spec: dict[str, dict[str, str]]) -> dict[str, dict[int, str]]:
    return {name: {int(i): a for i, a in axes.items()} for name, axes in spec.items()}


def _max_length(info: dict[str, Any], config: dict[str, Any]) -> int | None:
    bounds = (info.get("dynamic_bounds") or {}).get("sequence_length")
    if bounds and bounds[1] is not None:
        return int(bounds[1])
    limit = config.get("max_position_embeddings")
    return int(limit) if limit else None
