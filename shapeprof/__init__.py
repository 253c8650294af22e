"""shapeprof: a dataset-aware, shape-profiling ONNX exporter for transformers models.

Importing the package is cheap: torch, transformers and onnxruntime load only
when a name that needs them is first used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    # level 1
    "OnnxConfig": "shapeprof.onnx.base",
    "OnnxConfigWithPast": "shapeprof.onnx.base",
    "OnnxSeq2SeqConfigWithPast": "shapeprof.onnx.base",
    "PatchingSpec": "shapeprof.onnx.base",
    # level 2
    "TextEncoderOnnxConfig": "shapeprof.onnx.text",
    "TextDecoderOnnxConfig": "shapeprof.onnx.text",
    "TextSeq2SeqOnnxConfig": "shapeprof.onnx.text",
    "VisionOnnxConfig": "shapeprof.onnx.vision",
    "TextAndVisionOnnxConfig": "shapeprof.onnx.multimodal",
    # level 3
    "BertOnnxConfig": "shapeprof.onnx.models.encoders",
    "AlbertOnnxConfig": "shapeprof.onnx.models.encoders",
    "ElectraOnnxConfig": "shapeprof.onnx.models.encoders",
    "RobertaOnnxConfig": "shapeprof.onnx.models.encoders",
    "XLMRobertaOnnxConfig": "shapeprof.onnx.models.encoders",
    "MPNetOnnxConfig": "shapeprof.onnx.models.encoders",
    "DistilBertOnnxConfig": "shapeprof.onnx.models.encoders",
    "DebertaV2OnnxConfig": "shapeprof.onnx.models.encoders",
    "AudioOnnxConfig": "shapeprof.onnx.audio",
    **{f"{n}OnnxConfig": "shapeprof.onnx.models.images"
       for n in ("ViT", "DeiT", "Beit", "Dinov2", "ConvNext", "ResNet", "Swin", "MobileViT")},
    **{f"{n}OnnxConfig": "shapeprof.onnx.models.speech" for n in ("Wav2Vec2", "Hubert", "WavLM")},
    **{f"{n}OnnxConfig": "shapeprof.onnx.models.multimodal" for n in ("CLIP", "Siglip", "LayoutLM")},
    "MediaProfile": "shapeprof.profile.media",
    "profile_media": "shapeprof.profile.media",
    # registry, tasks, normalized configs
    "Registry": "shapeprof.onnx.registry",
    "default_registry": "shapeprof.onnx.registry",
    "register": "shapeprof.onnx.registry",
    "normalize_task": "shapeprof.onnx.tasks",
    "NormalizedConfig": "shapeprof.onnx.normalized",
    "NormalizedTextConfig": "shapeprof.onnx.normalized",
    # pipeline
    "export": "shapeprof.export",
    "ExportResult": "shapeprof.export",
    "export_with_profile": "shapeprof.export.profiled",
    "ProfiledExport": "shapeprof.export.profiled",
    "profile_dataset": "shapeprof.profile",
    "ShapeProfile": "shapeprof.profile",
    "run_benchmark": "shapeprof.bench",
    "BenchOptions": "shapeprof.bench",
    "Profile": "shapeprof.profile.protocol",
    "modality_of": "shapeprof.modality",
    "BenchResults": "shapeprof.bench",
    "load_model": "shapeprof.loading",
    "VerificationReport": "shapeprof.export",
    # errors
    "ShapeprofError": "shapeprof.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shapeprof' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
