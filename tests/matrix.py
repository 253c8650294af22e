"""Which (architecture, task) pairs the matrix tests export and verify.

The architectures registered first keep every task in the matrix; the rest are tested on
their main task (the one the family is known for; decoders and encoder-decoders generate
through their cache). The full (architecture, task) matrix is the census's job. One test
per architecture keeps the suite affordable at 100+ architectures on 2 cores.
"""

from __future__ import annotations

from collections.abc import Callable

from shapeprof.onnx.registry import Registry

# Tested on every registered task.
FULL_MATRIX = frozenset({
    "bert", "albert", "electra", "roberta", "xlm-roberta", "mpnet", "distilbert", "deberta-v2",
    "gpt2", "gpt_neo", "opt", "llama", "mistral", "qwen2", "qwen3", "phi3", "gemma",
    "t5", "bart", "mbart", "marian", "whisper",
    "vit", "deit", "beit", "mobilevit", "dinov2", "convnext", "resnet", "swin",
    "wav2vec2", "hubert", "wavlm", "clip", "siglip", "layoutlm", "layoutlmv3",
})
# A type's main task: the first of these it supports (else its first task).
MAIN_TASKS = ("text-generation-with-past", "text2text-generation-with-past",
              "automatic-speech-recognition-with-past", "zero-shot-image-classification",
              "image-classification", "automatic-speech-recognition", "audio-classification",
              "feature-extraction")


def main_task(registry: Registry, model_type: str) -> str:
    tasks = registry.tasks(model_type)
    return next((t for t in MAIN_TASKS if t in tasks), tasks[0])


def matrix_tasks(registry: Registry, model_type: str) -> tuple[str, ...]:
    return registry.tasks(model_type) if model_type in FULL_MATRIX else (main_task(registry, model_type),)


def matrix(registry: Registry, select: Callable[[type], bool]) -> list[tuple[str, str]]:
    """(model type, task) pairs of the architectures whose config class ``select`` accepts."""
    return [(mt, task) for mt in registry if select(registry.get(mt)) for task in matrix_tasks(registry, mt)]
