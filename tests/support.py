"""Helpers the tests import (a module name no conftest.py shadows)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def random_model(model_type: str, task: str = "feature-extraction", **config: Any) -> Any:
    """A model of a type without a tiny config in ``shapeprof.testing``: ``AutoConfig.for_model(model_type,
    **config)`` with the head of ``task``, its weights drawn after ``torch.manual_seed(0)``."""
    import torch
    from transformers import AutoConfig

    from shapeprof.onnx.tasks import auto_class

    torch.manual_seed(0)
    config = AutoConfig.for_model(model_type, **config)
    return auto_class(task, model_type).from_config(config).eval()


def save_tiny(out: Path, model_type: str, task: str, processor: Any) -> Path:
    """A tiny model of ``model_type`` with the head of ``task``, saved with its preprocessor in ``out``."""
    from shapeprof.testing.tiny import tiny_model

    tiny_model(model_type, task).save_pretrained(out)
    processor.save_pretrained(out)
    return out


def save_media_models(folder: Path) -> dict[str, Path]:
    """Tiny saved image and audio models: "vit" (its processor resizes to 32x32), "convnext" (its
    processor keeps sizes) and "w2v" (wav2vec2 audio classification)."""
    from transformers import ViTImageProcessor, Wav2Vec2FeatureExtractor

    return {"vit": save_tiny(folder / "vit", "vit", "image-classification",
                             ViTImageProcessor(size={"height": 32, "width": 32})),
            "convnext": save_tiny(folder / "convnext", "convnext", "image-classification",
                                  ViTImageProcessor(do_resize=False)),
            "w2v": save_tiny(folder / "w2v", "wav2vec2", "audio-classification", Wav2Vec2FeatureExtractor())}


def write_tone(path: Path, seconds: float, rate: int, hz: float) -> Path:
    """A mono 16-bit wav file of a sine tone at 0.3 of full scale."""
    import wave

    import numpy as np

    t = np.arange(int(seconds * rate)) / rate
    pcm = (0.3 * np.sin(2 * np.pi * hz * t) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1), f.setsampwidth(2), f.setframerate(rate), f.writeframes(pcm.tobytes())
    return path


def load_script(path: Path, name: str | None = None) -> ModuleType:
    """A script outside the package (``benchmarks/``, ``scripts/``, a written ``serve.py``) run as a
    fresh module, not entered in ``sys.modules``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def installed_command() -> str:
    """The installed ``shapeprof`` console script next to this interpreter (or on PATH)."""
    import shutil
    import sys

    exe = shutil.which("shapeprof", path=str(Path(sys.executable).parent)) or shutil.which("shapeprof")
    if exe is None:
        pytest.fail("the shapeprof console script is not installed (pip install -e .)")
    return exe


def read_report(path_or_text: str | Path) -> dict:
    """An HTML report read back with the standard library's parser: its plots by figure id (the
    ``data-series`` JSON and the SVG's text), every src/href, and whether scripts or stylesheet
    links appear. Tests check each plot against the results it was drawn from."""
    import json
    from html.parser import HTMLParser

    text = path_or_text.read_text(encoding="utf-8") if isinstance(path_or_text, Path) else path_or_text

    class Reader(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.plots: dict[str, dict] = {}
            self.links: list[str] = []
            self.tags: set[str] = set()
            self.figure: str | None = None
            self.svg_depth = 0

        def handle_starttag(self, tag: str, attrs: list) -> None:
            a = dict(attrs)
            self.tags.add(tag)
            self.links += [v for k, v in attrs if k in ("src", "href", "xlink:href") and v]
            if tag == "figure" and "plot" in (a.get("class") or "").split():
                self.figure = a["id"]
                self.plots[a["id"]] = {"series": json.loads(a["data-series"]), "svg_text": [], "svg": 0,
                                       "colours": set()}
            if self.figure and tag == "svg":
                self.plots[self.figure]["svg"] += 1
            if self.figure:
                style = (a.get("style") or "") + " " + (a.get("fill") or "") + " " + (a.get("stroke") or "")
                self.plots[self.figure]["colours"].update(w.strip(";").lower() for w in style.split()
                                                          if w.startswith("#"))
            self.svg_depth += tag == "text"

        def handle_endtag(self, tag: str) -> None:
            if tag == "figure":
                self.figure = None
            self.svg_depth -= tag == "text" and self.svg_depth > 0

        def handle_data(self, data: str) -> None:
            if self.figure and self.svg_depth and data.strip():
                self.plots[self.figure]["svg_text"].append(data.strip())

    reader = Reader()
    reader.feed(text)
    return {"plots": reader.plots, "links": reader.links, "tags": reader.tags, "text": text}
