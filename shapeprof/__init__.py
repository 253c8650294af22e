"""shapeprof: a dataset-aware, shape-profiling ONNX exporter for transformers models.

Importing the package is cheap: torch, transformers and onnxruntime load only
when a name that needs them is first used.
"""

from __future__ import annotations

from shapeprof.lazy import lazy_getattr

__version__ = "0.1.0"

_ONNX = "shapeprof.onnx"
_LEVEL3 = {  # family module -> the class names of its rows (rows: shapeprof.onnx.models.architectures)
    "encoders": ("Albert", "Bert", "BigBird", "Camembert", "ConvBert", "Data2VecText", "Deberta", "DebertaV2",
        "DistilBert", "Electra", "Ernie", "Esm", "Flaubert", "IBert", "MPNet", "MegatronBert", "MobileBert",
        "ModernBert", "RemBert", "RoFormer", "Roberta", "SqueezeBert", "XLM", "XLMRoberta", "XLMRobertaXL"),
    "decoders": ("BioGpt", "Bloom", "CodeGen", "Cohere", "Falcon", "GPT2", "GPTBigCode", "GPTJ", "GPTNeo", "GPTNeoX",
        "Gemma", "Gemma2", "Gemma3Text", "Granite", "Llama", "Mistral", "Mixtral", "OPT", "Olmo", "Olmo2",
        "Phi", "Phi3", "Qwen2", "Qwen2Moe", "Qwen3", "Qwen3Moe", "StableLm", "Starcoder2", "XGLM"),
    "seq2seq": ("Bart", "Blenderbot", "BlenderbotSmall", "LongT5", "M2M100", "MBart", "MT5", "Marian", "PLBart",
        "Pegasus", "T5", "UMT5", "Whisper"),
    "images": ("Beit", "ConvNext", "ConvNextV2", "Cvt", "Data2VecVision", "DeiT", "Dinov2", "Dinov2WithRegisters",
        "EfficientNet", "Levit", "MobileNetV2", "MobileViT", "MobileViTV2", "PoolFormer", "Pvt", "RegNet",
        "ResNet", "Segformer", "Swin", "Swinv2", "ViT", "Yolos"),
    "speech": ("AST", "Data2VecAudio", "Hubert", "SEW", "SEWD", "UniSpeech", "UniSpeechSat", "Wav2Vec2",
        "Wav2Vec2Conformer", "WavLM"),
    "multimodal": ("CLIP", "ChineseCLIP", "GroupViT", "LayoutLM", "LayoutLMv3", "MarkupLM", "OwlViT", "Siglip",
        "Siglip2"),
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
    "ExpertsDecoderOnnxConfig": f"{_ONNX}.text",
    "SpectrogramOnnxConfig": f"{_ONNX}.models.spectrogram",
    "PatchSequenceTextAndVisionOnnxConfig": f"{_ONNX}.models.siglip2",
    "MarkupTextOnnxConfig": f"{_ONNX}.models.markuplm",
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


__getattr__ = lazy_getattr('shapeprof', _EXPORTS, globals())


def __dir__() -> list[str]:
    return __all__
