"""PyTorch eager baseline: the same cells through the transformers model (no_grad, eval)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BenchError, ShapeprofError
from .model_dir import ModelDir


def torch_source(model: ModelDir, torch_model: str | Path | None) -> Path | None:
    """Where PyTorch weights come from: ``torch_model``, else MODEL_DIR when it has weights, else
    the source directory the export recorded (``source`` in shapeprof_export.json)."""
    if torch_model is not None:
        path = Path(torch_model).expanduser()
        if not (path / "config.json").is_file():
            raise BenchError(f"--torch-model {str(path)!r} is not a saved transformers model "
                             "directory (no config.json); point it at the model that was exported")
        return path
    if model.has_torch_weights:
        return model.path
    recorded = Path(model.source).expanduser() if model.source else None
    return recorded if recorded is not None and (recorded / "config.json").is_file() else None


def load_torch_model(source: Path, model: ModelDir, threads: int) -> Any:
    """The transformers model for MODEL_DIR's task, in eval mode, using ``threads`` threads."""
    import torch

    from ..loading import load_model

    torch.set_num_threads(threads)
    try:
        loaded = load_model(source, model.task)
    except ShapeprofError as e:
        raise BenchError(f"cannot load the PyTorch model from {str(source)!r} ({e}); pass "
                         "--torch-model with the original model directory or --no-pytorch") from e
    if loaded.model_type != model.model_type:
        raise BenchError(f"--torch-model is a {loaded.model_type!r} model but MODEL_DIR is "
                         f"{model.model_type!r}; point it at the model that was exported")
    if loaded.fresh_weights:
        raise BenchError(f"{str(source)!r} lacks weights for {loaded.fresh_weights[0]} (and "
                         f"{len(loaded.fresh_weights) - 1} more); pass --torch-model with the "
                         "exported model's directory")
    return loaded.model


def torch_call(module: Any, feeds: dict[str, np.ndarray], output_name: str) -> Callable[[], Any]:
    """A no-grad call of ``module`` on ``feeds`` returning one named output."""
    import torch

    tensors = {k: torch.from_numpy(v) for k, v in feeds.items()}

    def call() -> Any:
        with torch.inference_mode():
            return module(**tensors, return_dict=True)[output_name]

    return call


def torch_output(module: Any, feeds: dict[str, np.ndarray], output_name: str) -> np.ndarray:
    return torch_call(module, feeds, output_name)().float().numpy()
