"""Level 3 as data: one row per registered architecture.

A row names the model type, the class that exports it (level 2, or a level-3 class
in this package where behaviour differs), its tasks (sets from :mod:`..tasks`) and
the class attributes that differ. Adding an architecture that only renames things
is one line here; it needs a tiny model in :mod:`shapeprof.testing.tiny` as well.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..audio import AudioOnnxConfig, AudioToTextOnnxConfig
from ..base import OnnxConfig
from ..multimodal import LayoutTextAndImageOnnxConfig, LayoutTextOnnxConfig, TextAndVisionOnnxConfig
from ..normalized import NormalizedTextConfig
from ..registry import Architecture
from ..seq2seq import NormalizedSeq2SeqConfig
from ..tasks import (AUDIO_TASKS, CONTRASTIVE_TASKS, DECODER_TASKS, ENCODER_TASKS, LAYOUT_IMAGE_TASKS,
                     LAYOUT_TASKS, SPEECH2TEXT_TASKS, TEXT2TEXT_TASKS, VISION_TASKS)
from ..text import ExpertsDecoderOnnxConfig, TextDecoderOnnxConfig, TextEncoderOnnxConfig, TextSeq2SeqOnnxConfig
from ..vision import IMAGE_AXES, VisionOnnxConfig
from .deberta import OptionalTokenTypesOnnxConfig
from .dinov2 import InterpolatingVisionOnnxConfig
from .falcon import NormalizedFalconConfig
from .markuplm import MarkupTextOnnxConfig
from .siglip2 import PatchSequenceTextAndVisionOnnxConfig
from .spectrogram import SpectrogramOnnxConfig


def _row(model_type: str, name: str, cls: type[OnnxConfig], tasks: tuple[str, ...],
         **overrides: Any) -> Architecture:
    return Architecture(model_type, cls, tasks, overrides, name=f"{name}OnnxConfig")


def _family(module: str, *rows: Architecture) -> tuple[Architecture, ...]:
    """Rows whose classes are importable (and pickled) from ``shapeprof.onnx.models.<module>``."""
    return tuple(replace(row, module=f"{__package__}.{module}") for row in rows)


# Attribute differences shared by several rows.
NO_TOKEN_TYPES = ("input_ids", "attention_mask")
ROBERTA_LIKE = {"TEXT_INPUTS": NO_TOKEN_TYPES, "POSITION_OFFSET": 2}  # positions start after padding_idx
# FUSABLE_ATTENTION=False: the model's own attention (MPNet relative, DeBERTa disentangled) stays as is.
DISTILBERT_NAMES = NormalizedTextConfig.with_args(hidden_size="dim", num_attention_heads="n_heads",
                                                  num_layers="n_layers")
GPT2_NAMES = NormalizedTextConfig.with_args(num_layers="n_layer", num_attention_heads="n_head",
                                            hidden_size="n_embd", max_position_embeddings="n_positions")
GPT_NEO_NAMES = NormalizedTextConfig.with_args(num_layers="num_layers", num_attention_heads="num_heads")
# Task sets of families whose transformers heads differ from their family's.
NO_MULTIPLE_CHOICE = tuple(t for t in ENCODER_TASKS if t != "multiple-choice")
TOKEN_TASKS = ("feature-extraction", "fill-mask", "text-classification", "token-classification")
GENERATION_TASKS = tuple(t for t in DECODER_TASKS if t != "text-classification")
T5_NAMES = NormalizedSeq2SeqConfig.with_args(num_attention_heads="num_heads",
                                             decoder_num_layers="num_decoder_layers", head_dim="d_kv")

ENCODERS = _family(
    "encoders",
    _row("bert", "Bert", TextEncoderOnnxConfig, ENCODER_TASKS),
    _row("albert", "Albert", TextEncoderOnnxConfig, ENCODER_TASKS),
    _row("electra", "Electra", TextEncoderOnnxConfig, ENCODER_TASKS),
    _row("roberta", "Roberta", TextEncoderOnnxConfig, ENCODER_TASKS, **ROBERTA_LIKE),
    _row("xlm-roberta", "XLMRoberta", TextEncoderOnnxConfig, ENCODER_TASKS, **ROBERTA_LIKE),
    _row("mpnet", "MPNet", TextEncoderOnnxConfig, ENCODER_TASKS, **ROBERTA_LIKE, FUSABLE_ATTENTION=False),
    _row("distilbert", "DistilBert", TextEncoderOnnxConfig, ENCODER_TASKS, TEXT_INPUTS=NO_TOKEN_TYPES,
         NORMALIZED_CONFIG_CLASS=DISTILBERT_NAMES),
    _row("deberta-v2", "DebertaV2", OptionalTokenTypesOnnxConfig, ENCODER_TASKS, FUSABLE_ATTENTION=False),
    _row("deberta", "Deberta", OptionalTokenTypesOnnxConfig, NO_MULTIPLE_CHOICE, FUSABLE_ATTENTION=False),
    _row("camembert", "Camembert", TextEncoderOnnxConfig, ENCODER_TASKS, **ROBERTA_LIKE),
    _row("data2vec-text", "Data2VecText", TextEncoderOnnxConfig, ENCODER_TASKS, **ROBERTA_LIKE),
    _row("xlm-roberta-xl", "XLMRobertaXL", TextEncoderOnnxConfig, ENCODER_TASKS, **ROBERTA_LIKE),
    _row("ibert", "IBert", TextEncoderOnnxConfig, ENCODER_TASKS, **ROBERTA_LIKE),
    # Models that build their own mask from the 0/1 one (no additive mask handed in).
    _row("flaubert", "Flaubert", TextEncoderOnnxConfig, ENCODER_TASKS, FUSABLE_ATTENTION=False),
    _row("xlm", "XLM", TextEncoderOnnxConfig, ENCODER_TASKS, FUSABLE_ATTENTION=False),
    _row("ernie", "Ernie", TextEncoderOnnxConfig, ENCODER_TASKS),
    _row("roformer", "RoFormer", TextEncoderOnnxConfig, ENCODER_TASKS),
    _row("convbert", "ConvBert", TextEncoderOnnxConfig, ENCODER_TASKS),
    _row("mobilebert", "MobileBert", TextEncoderOnnxConfig, ENCODER_TASKS),
    _row("squeezebert", "SqueezeBert", TextEncoderOnnxConfig, ENCODER_TASKS),
    _row("big_bird", "BigBird", TextEncoderOnnxConfig, ENCODER_TASKS),
    _row("esm", "Esm", TextEncoderOnnxConfig, TOKEN_TASKS, TEXT_INPUTS=NO_TOKEN_TYPES, FUSABLE_ATTENTION=False),
    _row("rembert", "RemBert", TextEncoderOnnxConfig, ENCODER_TASKS),
    _row("megatron-bert", "MegatronBert", TextEncoderOnnxConfig, ENCODER_TASKS),
    _row("modernbert", "ModernBert", TextEncoderOnnxConfig, ENCODER_TASKS, TEXT_INPUTS=NO_TOKEN_TYPES,
         FUSABLE_ATTENTION=False),  # local attention: its own sliding-window mask
)
DECODERS = _family(
    "decoders",
    _row("gpt2", "GPT2", TextDecoderOnnxConfig, DECODER_TASKS, NORMALIZED_CONFIG_CLASS=GPT2_NAMES),
    _row("gpt_neo", "GPTNeo", TextDecoderOnnxConfig, DECODER_TASKS, NORMALIZED_CONFIG_CLASS=GPT_NEO_NAMES),
    _row("opt", "OPT", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("llama", "Llama", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("mistral", "Mistral", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("qwen2", "Qwen2", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("qwen3", "Qwen3", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("phi3", "Phi3", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("gemma", "Gemma", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("gptj", "GPTJ", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("codegen", "CodeGen", TextDecoderOnnxConfig, GENERATION_TASKS),
    _row("gpt_neox", "GPTNeoX", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("bloom", "Bloom", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("falcon", "Falcon", TextDecoderOnnxConfig, DECODER_TASKS, NORMALIZED_CONFIG_CLASS=NormalizedFalconConfig),
    _row("gpt_bigcode", "GPTBigCode", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("phi", "Phi", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("stablelm", "StableLm", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("olmo", "Olmo", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("olmo2", "Olmo2", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("granite", "Granite", TextDecoderOnnxConfig, GENERATION_TASKS),
    _row("cohere", "Cohere", TextDecoderOnnxConfig, GENERATION_TASKS),
    _row("xglm", "XGLM", TextDecoderOnnxConfig, GENERATION_TASKS),
    _row("biogpt", "BioGpt", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("starcoder2", "Starcoder2", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("gemma2", "Gemma2", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("gemma3_text", "Gemma3Text", TextDecoderOnnxConfig, DECODER_TASKS),
    _row("mixtral", "Mixtral", ExpertsDecoderOnnxConfig, DECODER_TASKS),
    _row("qwen2_moe", "Qwen2Moe", ExpertsDecoderOnnxConfig, DECODER_TASKS),
    _row("qwen3_moe", "Qwen3Moe", ExpertsDecoderOnnxConfig, DECODER_TASKS),
)
SEQ2SEQ = _family(
    "seq2seq",
    _row("t5", "T5", TextSeq2SeqOnnxConfig, TEXT2TEXT_TASKS, NORMALIZED_CONFIG_CLASS=T5_NAMES),
    _row("bart", "Bart", TextSeq2SeqOnnxConfig, TEXT2TEXT_TASKS),
    _row("mbart", "MBart", TextSeq2SeqOnnxConfig, TEXT2TEXT_TASKS),
    _row("marian", "Marian", TextSeq2SeqOnnxConfig, TEXT2TEXT_TASKS),
    _row("mt5", "MT5", TextSeq2SeqOnnxConfig, TEXT2TEXT_TASKS, NORMALIZED_CONFIG_CLASS=T5_NAMES),
    _row("umt5", "UMT5", TextSeq2SeqOnnxConfig, TEXT2TEXT_TASKS, NORMALIZED_CONFIG_CLASS=T5_NAMES),
    _row("longt5", "LongT5", TextSeq2SeqOnnxConfig, TEXT2TEXT_TASKS, NORMALIZED_CONFIG_CLASS=T5_NAMES),
    _row("pegasus", "Pegasus", TextSeq2SeqOnnxConfig, TEXT2TEXT_TASKS),
    _row("m2m_100", "M2M100", TextSeq2SeqOnnxConfig, TEXT2TEXT_TASKS),
    _row("blenderbot", "Blenderbot", TextSeq2SeqOnnxConfig, TEXT2TEXT_TASKS),
    _row("blenderbot-small", "BlenderbotSmall", TextSeq2SeqOnnxConfig, TEXT2TEXT_TASKS),
    _row("plbart", "PLBart", TextSeq2SeqOnnxConfig, TEXT2TEXT_TASKS),
    _row("whisper", "Whisper", AudioToTextOnnxConfig, SPEECH2TEXT_TASKS),
)
# Learned absolute positions (or Python-int size arithmetic, MobileViT) fix the image size.
IMAGES = _family(
    "images",
    _row("vit", "ViT", VisionOnnxConfig, VISION_TASKS, STATIC_AXES=IMAGE_AXES),
    _row("deit", "DeiT", VisionOnnxConfig, VISION_TASKS, STATIC_AXES=IMAGE_AXES),
    _row("beit", "Beit", VisionOnnxConfig, VISION_TASKS, STATIC_AXES=IMAGE_AXES),
    _row("mobilevit", "MobileViT", VisionOnnxConfig, VISION_TASKS, STATIC_AXES=IMAGE_AXES),
    _row("dinov2", "Dinov2", InterpolatingVisionOnnxConfig, VISION_TASKS),
    _row("convnext", "ConvNext", VisionOnnxConfig, VISION_TASKS),
    _row("resnet", "ResNet", VisionOnnxConfig, VISION_TASKS),
    _row("swin", "Swin", VisionOnnxConfig, VISION_TASKS),
    _row("data2vec-vision", "Data2VecVision", VisionOnnxConfig, VISION_TASKS, STATIC_AXES=IMAGE_AXES),
    _row("yolos", "Yolos", VisionOnnxConfig, ("feature-extraction",), STATIC_AXES=IMAGE_AXES),
    _row("levit", "Levit", VisionOnnxConfig, VISION_TASKS, STATIC_AXES=IMAGE_AXES),  # attention biases
    _row("mobilevitv2", "MobileViTV2", VisionOnnxConfig, VISION_TASKS, STATIC_AXES=IMAGE_AXES),
    _row("pvt", "Pvt", VisionOnnxConfig, VISION_TASKS, STATIC_AXES=IMAGE_AXES),
    _row("dinov2_with_registers", "Dinov2WithRegisters", VisionOnnxConfig, VISION_TASKS, STATIC_AXES=IMAGE_AXES),
    _row("convnextv2", "ConvNextV2", VisionOnnxConfig, VISION_TASKS),
    _row("swinv2", "Swinv2", VisionOnnxConfig, VISION_TASKS),
    _row("mobilenet_v2", "MobileNetV2", VisionOnnxConfig, VISION_TASKS, STATIC_AXES=IMAGE_AXES),  # TF padding
    _row("efficientnet", "EfficientNet", VisionOnnxConfig, VISION_TASKS),
    _row("regnet", "RegNet", VisionOnnxConfig, VISION_TASKS),
    _row("poolformer", "PoolFormer", VisionOnnxConfig, VISION_TASKS),
    _row("segformer", "Segformer", VisionOnnxConfig, VISION_TASKS),
    _row("cvt", "Cvt", VisionOnnxConfig, VISION_TASKS),
)
SPEECH = _family(
    "speech",
    _row("wav2vec2", "Wav2Vec2", AudioOnnxConfig, AUDIO_TASKS),
    _row("hubert", "Hubert", AudioOnnxConfig, AUDIO_TASKS),
    _row("wavlm", "WavLM", AudioOnnxConfig, AUDIO_TASKS),
    _row("sew", "SEW", AudioOnnxConfig, AUDIO_TASKS),
    _row("sew-d", "SEWD", AudioOnnxConfig, AUDIO_TASKS),
    _row("unispeech", "UniSpeech", AudioOnnxConfig, AUDIO_TASKS),
    _row("unispeech-sat", "UniSpeechSat", AudioOnnxConfig, AUDIO_TASKS),
    _row("data2vec-audio", "Data2VecAudio", AudioOnnxConfig, AUDIO_TASKS),
    _row("wav2vec2-conformer", "Wav2Vec2Conformer", AudioOnnxConfig, AUDIO_TASKS),
    _row("audio-spectrogram-transformer", "AST", SpectrogramOnnxConfig, ("feature-extraction", "audio-classification")),
)
MULTIMODAL = _family(
    "multimodal",
    _row("clip", "CLIP", TextAndVisionOnnxConfig, CONTRASTIVE_TASKS),
    _row("siglip", "Siglip", TextAndVisionOnnxConfig, CONTRASTIVE_TASKS, TEXT_INPUTS=("input_ids",)),
    _row("siglip2", "Siglip2", PatchSequenceTextAndVisionOnnxConfig, CONTRASTIVE_TASKS),
    _row("chinese_clip", "ChineseCLIP", TextAndVisionOnnxConfig, CONTRASTIVE_TASKS),
    _row("owlvit", "OwlViT", TextAndVisionOnnxConfig, ("feature-extraction",)),
    _row("groupvit", "GroupViT", TextAndVisionOnnxConfig, ("feature-extraction",)),
    _row("layoutlm", "LayoutLM", LayoutTextOnnxConfig, LAYOUT_TASKS),
    _row("markuplm", "MarkupLM", MarkupTextOnnxConfig, LAYOUT_IMAGE_TASKS, POSITION_OFFSET=2, FUSABLE_ATTENTION=False),
    _row("layoutlmv3", "LayoutLMv3", LayoutTextAndImageOnnxConfig, LAYOUT_IMAGE_TASKS, POSITION_OFFSET=2,
         NORMALIZED_CONFIG_CLASS=NormalizedTextConfig.with_args(image_size="input_size")),
)
ARCHITECTURES = (*ENCODERS, *DECODERS, *SEQ2SEQ, *IMAGES, *SPEECH, *MULTIMODAL)


def classes(rows: tuple[Architecture, ...]) -> dict[str, type[OnnxConfig]]:
    """The rows' classes by name (``BertOnnxConfig``, ...), for import from the family modules."""
    return {row.name: row.config for row in rows}
