"""Task names, their synonyms, and how each maps onto transformers auto classes.

Kept free of heavy imports: transformers is imported only inside functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class Task:
    """One task: its canonical name, auto class, and auto-mapping table."""

    name: str
    auto_class: str
    mapping: str  # name of the *_MAPPING_NAMES dict in transformers' modeling_auto
    head_suffixes: tuple[str, ...]  # architecture-name suffixes that imply this task
    # (auto class, mapping) pairs tried when the model type is not in ``mapping``,
    # e.g. Whisper's speech recognition is sequence-to-sequence, wav2vec2's is CTC.
    alternatives: tuple[tuple[str, str], ...] = ()


_SPEECH_SEQ2SEQ = ("AutoModelForSpeechSeq2Seq", "MODEL_FOR_SPEECH_SEQ_2_SEQ_MAPPING_NAMES")

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task("feature-extraction", "AutoModel", "MODEL_MAPPING_NAMES", ("Model",)),
        Task("fill-mask", "AutoModelForMaskedLM", "MODEL_FOR_MASKED_LM_MAPPING_NAMES",
             ("ForMaskedLM", "ForPreTraining")),
        Task("text-classification", "AutoModelForSequenceClassification",
             "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES", ("ForSequenceClassification",)),
        Task("token-classification", "AutoModelForTokenClassification",
             "MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES", ("ForTokenClassification",)),
        Task("question-answering", "AutoModelForQuestionAnswering",
             "MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES", ("ForQuestionAnswering",)),
        Task("multiple-choice", "AutoModelForMultipleChoice",
             "MODEL_FOR_MULTIPLE_CHOICE_MAPPING_NAMES", ("ForMultipleChoice",)),
        Task("text-generation", "AutoModelForCausalLM", "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES",
             ("ForCausalLM", "LMHeadModel")),
        Task("text-generation-with-past", "AutoModelForCausalLM",
             "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES", ()),
        Task("text2text-generation", "AutoModelForSeq2SeqLM",
             "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES", ("ForConditionalGeneration",)),
        Task("text2text-generation-with-past", "AutoModelForSeq2SeqLM",
             "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES", ()),
        Task("image-classification", "AutoModelForImageClassification",
             "MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES", ("ForImageClassification",)),
        Task("audio-classification", "AutoModelForAudioClassification",
             "MODEL_FOR_AUDIO_CLASSIFICATION_MAPPING_NAMES", ("ForAudioClassification",)),
        Task("automatic-speech-recognition", "AutoModelForCTC", "MODEL_FOR_CTC_MAPPING_NAMES",
             ("ForCTC",), (_SPEECH_SEQ2SEQ,)),
        Task("automatic-speech-recognition-with-past", "AutoModelForSpeechSeq2Seq",
             "MODEL_FOR_SPEECH_SEQ_2_SEQ_MAPPING_NAMES", ()),
        Task("zero-shot-image-classification", "AutoModel",
             "MODEL_FOR_ZERO_SHOT_IMAGE_CLASSIFICATION_MAPPING_NAMES", ()),
    )
}

# Task sets per architecture family: every registered architecture takes its tasks from here.
ENCODER_TASKS = ("feature-extraction", "fill-mask", "text-classification", "token-classification",
                 "question-answering", "multiple-choice")
DECODER_TASKS = ("feature-extraction", "text-classification", "text-generation", "text-generation-with-past")
TEXT2TEXT_TASKS = ("feature-extraction", "text2text-generation", "text2text-generation-with-past")
VISION_TASKS = ("feature-extraction", "image-classification")
AUDIO_TASKS = ("feature-extraction", "audio-classification", "automatic-speech-recognition")
SPEECH2TEXT_TASKS = ("automatic-speech-recognition", "automatic-speech-recognition-with-past")
CONTRASTIVE_TASKS = ("feature-extraction", "zero-shot-image-classification")
LAYOUT_TASKS = ("feature-extraction", "fill-mask", "text-classification", "token-classification")
LAYOUT_IMAGE_TASKS = ("feature-extraction", "text-classification", "token-classification", "question-answering")

SYNONYMS: dict[str, str] = {
    "default": "feature-extraction",
    "sequence-classification": "text-classification",
    "sentiment-analysis": "text-classification",
    "ner": "token-classification",
    "masked-lm": "fill-mask",
    "qa": "question-answering",
    "causal-lm": "text-generation",
    "causal-lm-with-past": "text-generation-with-past",
    "seq2seq-lm": "text2text-generation",
    "seq2seq-lm-with-past": "text2text-generation-with-past",
}


def normalize_task(task: str) -> str:
    """Canonical task name for ``task`` or one of its synonyms."""
    name = SYNONYMS.get(task, task)
    if name not in TASKS:
        known = ", ".join(sorted(TASKS))
        raise ConfigError(f"unknown task {task!r}; use one of: {known}")
    return name


def infer_task(architectures: list[str] | None) -> str:
    """Guess the task from ``config.architectures`` (offline); default feature-extraction."""
    for arch in architectures or ():
        for task in TASKS.values():
            if any(arch.endswith(s) for s in task.head_suffixes if s != "Model"):
                return task.name
    return "feature-extraction"


def _heads(task: str) -> tuple[tuple[str, str], ...]:
    t = TASKS[task]
    return ((t.auto_class, t.mapping), *t.alternatives)


def _head_for(model_type: str | None, task: str) -> str | None:
    """The auto class whose mapping holds ``model_type`` (the task's first one when None)."""
    from transformers.models.auto import modeling_auto

    for cls, mapping in _heads(task):
        if model_type is None or model_type in getattr(modeling_auto, mapping, {}):
            return cls
    return None


def has_head(model_type: str, task: str) -> bool:
    """Whether transformers has a model class for ``model_type`` on ``task``."""
    return _head_for(model_type, task) is not None


def auto_class(task: str, model_type: str | None = None) -> type:
    """The transformers ``AutoModelFor...`` class for a canonical task (and model type)."""
    import transformers

    return getattr(transformers, _head_for(model_type, task) or TASKS[task].auto_class)
