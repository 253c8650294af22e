"""shapeprof: a dataset-aware, shape-profiling ONNX exporter for transformers models.

Importing the package is cheap: torch, transformers and onnxruntime load only
when a name that needs them is first used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_ONNX = "shapeprof.onnx"
_LEVEL3 = {  # family module -> the class names of its rows (rows: shapeprof.onnx.models.architectures)
    "encoders": ("Albert", "Bert", "DebertaV2", "DistilBert", "Electra", "MPNet", "Roberta", "XLMRoberta"),
    "decoders": ("GPT2", "GPTNeo", "Gemma", "Llama", "Mistral", "OPT", "Phi3", "Qwen2", "Qwen3"),
    "seq2seq": ("Bart", "MBart", "Marian", "T5", "Whisper"),
    "images": ("Beit", "ConvNext", "DeiT", "Dinov2", "MobileViT", "ResNet", "Swin", "ViT"),
    "speech": ("Hubert", "Wav2Vec2", "WavLM"),
    "multimodal": ("CLIP", "LayoutLM", "LayoutLMv3", "Siglip"),
}

_EXPORTS = {
    # level 1
    **dict.fromkeys(("OnnxConfig", "OnnxConfigWithPast", "OnnxSeq2SeqConfigWithPast", "PatchingSpec"),
                    f"{_ONNX}.base"),
    # level 2, and the encoder/decoder parts its encoder-decoders export
    **dict.fromkeys(("TextEncoderOnnxConfig", "TextDecoderOnnxConfig", "TextSeq2SeqOnnxConfig"), f"{_ONNX}.text"),
    "VisionOnnxConfig": f"{_ONNX}.vision",
    **dict.fromkeys(("AudioOnnxConfig", "AudioToTextOnnxConfig", "SpectrogramEncoderOnnxConfig",
                     "SpeechToTextDecoderOnnxConfig"), f"{_ONNX}.audio"),
    **dict.fromkeys(("TextAndVisionOnnxConfig", "LayoutTextOnnxConfig", "LayoutTextAndImageOnnxConfig"),
                    f"{_ONNX}.multimodal"),
    **dict.fromkeys(("Seq2SeqTextEncoderOnnxConfig", "Seq2SeqDecoderOnnxConfig", "NormalizedSeq2SeqConfig"),
                    f"{_ONNX}.seq2seq"),
    # level 3: one row per architecture, and the classes where behaviour differs
    **{f"{n}OnnxConfig": f"{_ONNX}.models.{module}" for module, names in _LEVEL3.items() for n in names},
    "OptionalTokenTypesOnnxConfig": f"{_ONNX}.models.deberta",
    "InterpolatingVisionOnnxConfig": f"{_ONNX}.models.dinov2",
    # registry, tasks, normalized configs
    **dict.fromkeys(("Architecture", "Registry", "register"), f"{_ONNX}.registry"),
    "default_registry": f"{_ONNX}.builtin",
    "derive_onnx_config": f"{_ONNX}.derive",
    "normalize_task": f"{_ONNX}.tasks",
    **dict.fromkeys(("NormalizedConfig", "NormalizedTextConfig", "NormalizedVisionConfig"), f"{_ONNX}.normalized"),
    # pipeline
    **dict.fromkeys(("export", "ExportResult", "VerificationReport"), "shapeprof.export"),
    **dict.fromkeys(("export_with_profile", "ProfiledExport"), "shapeprof.export.profiled"),
    **dict.fromkeys(("profile_dataset", "ShapeProfile"), "shapeprof.profile"),
    **dict.fromkeys(("profile_media", "MediaProfile"), "shapeprof.profile.media"),
    **dict.fromkeys(("run_benchmark", "BenchResults"), "shapeprof.bench"),
    **dict.fromkeys(("compare_files", "Comparison"), "shapeprof.regression"),
    **dict.fromkeys(("load_model", "wrap_model", "LoadedModel"), "shapeprof.loading"),
    **dict.fromkeys(("BenchOptions",), "shapeprof.bench"),
    "Profile": "shapeprof.profile.protocol",
    "modality_of": "shapeprof.modality",
    # errors
    "ShapeprofError": "shapeprof.errors",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shapeprof' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
