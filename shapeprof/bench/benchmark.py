"""``run_benchmark``: MODEL_DIR (+ profile) + BenchOptions -> BenchResults, for any modality.

An image or audio model is swept in :mod:`.media` (batch x size cells), anything else in
:mod:`.text` (batch x length, or prefill and decode for a decoder with past); both run the
shared stages of :mod:`.context`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .context import as_model_dir
from .model_dir import ModelDir
from .options import BenchOptions
from .results import BenchResults


def run_benchmark(model_dir: str | Path | ModelDir, profile: Any = None,
                  options: BenchOptions | None = None, *, data: Any = None) -> BenchResults:
    """Benchmark the exported model in MODEL_DIR with onnxruntime (and PyTorch eager).

    ``profile`` (any Profile, its JSON mapping or path) chooses the sweep and the real data;
    ``options`` (default ``BenchOptions()``) says what to time and how. ``data`` gives real
    inputs directly: text rows for a text model, a folder, files or ``datasets.Dataset`` of
    images or clips for a media model. An image or audio model is swept over batch x size
    (``shapeprof.bench.media``); a text model over batch x length, with expected latency per
    padding policy and replay when there is a profile; a decoder exported with past key values
    over prefill and decode steps, with the expected time to first token and per request.
    """
    from ..modality import MEDIA, modality_of

    options = options if options is not None else BenchOptions()
    model = as_model_dir(model_dir)
    if modality_of(model) in MEDIA:
        from .media import run_media_benchmark

        return run_media_benchmark(model, profile, options, data=data)
    from .text import run_text_benchmark

    return run_text_benchmark(model, profile, options, texts=data)
