"""The census: every model type in transformers' Auto mappings for shapeprof's tasks, built tiny,
exported and verified, and classified.

    PYTHONPATH=. HF_HUB_OFFLINE=1 nice -n 19 python benchmarks/census.py \\
        [--types bert,llama] [--modality text] [--limit 25] [--jobs 1] [--timeout 120] \\
        [--out census.jsonl] [--resume] [--markdown census.md]

One (model type, main task) per subprocess: a crash, hang or segfault of one type does not stop the
census (``--timeout`` seconds each). Each result is appended to ``--out`` (JSON lines) as soon as it
is known; ``--resume`` skips the types already there (``--rerun crash,mismatch`` runs those again;
the last record of a type wins). ``--markdown OUT`` writes the summary table per modality
(``--summarize`` does only that, from an existing ``--out``). ``--modality`` selects on the modality
guessed before building (task, registered class, preprocessor mappings); a record's "other" is
refined from the model's main input.

Each type is built offline from its config class: the registered types with
``shapeprof.testing.tiny``'s sizes, the others from the config class's defaults shrunk generically
(hidden 32, 2 layers, 4 heads, ...; ``shrink_kwargs``), seeded; a hybrid model keeps one layer of
each kind (attention and linear, mamba or recurrent: ``layers_for_every_kind``), and all-zero
router gates of generative mixtures of experts are drawn (``reinit_zero_routers``). The model is saved with a real
preprocessor (all-MiniLM-L6-v2's tokenizer for encoders, GPT-2's for generative models, both
real; image processors and feature extractors from their classes' defaults; the vocabulary is
the tokenizer's) and exported from that directory, as ``shapeprof export --model DIR`` does.

Classes (per type and main task):

- ``registered``: registered config, exported and verified;
- ``derived``: derived config (``config="auto"`` path), exported and verified;
- ``refused``: a ``ShapeprofError`` (not a verification one), with its one-line reason;
- ``mismatch``: exported, but verification or generation parity failed;
- ``crash``: any other exception, a timeout or a dead process (exception type and first line);
- ``not buildable``: transformers cannot build the tiny model offline (config class needs
  remote code, no preprocessor, the model's own ``__init__`` fails, too large even shrunk);
  excluded from the denominator of ``verified %``.

A main task refused for the task alone (derivation does not serve it for the family, or its head
builds a sub-model with no head of its own) is followed by ``feature-extraction``: the record's
``task`` is the task verified, ``main_task`` and ``main_task_refused`` say which was refused and why
(marked † in the markdown).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

STATUSES = ("registered", "derived", "refused", "mismatch", "crash", "not buildable")
VERIFIED = ("registered", "derived")
PROBLEMS = ("mismatch", "crash", "refused", "not buildable")   # listed per type in the markdown
MODALITIES = ("text", "image", "audio", "text+image", "other")
# A type's main task: the first of these transformers has a head for (as tests/matrix.py).
MAIN_TASKS = ("text-generation-with-past", "text2text-generation-with-past",
              "automatic-speech-recognition-with-past", "zero-shot-image-classification",
              "image-classification", "automatic-speech-recognition", "audio-classification",
              "feature-extraction")
MAX_PARAMETERS = 30_000_000     # a shrunk model larger than this is "not buildable" (too slow)
REASON_CHARS = 240
HINT = "; register a class for it"   # the registration hint that ends derivation errors

# Generic shrinking: config attribute -> tiny value (applied when the default is a larger int).
SHRINK: dict[str, int] = {
    **dict.fromkeys(("hidden_size", "d_model", "n_embd", "embed_dim", "embedding_size", "word_embed_proj_dim",
                     "input_embedding_size", "output_embedding_size", "projection_dim", "text_embed_dim",
                     "vision_embed_dim", "hidden_dim_text", "out_hidden_size"), 32),
    **dict.fromkeys(("num_hidden_layers", "num_layers", "n_layer", "n_layers", "encoder_layers",
                     "decoder_layers", "num_decoder_layers", "num_encoder_layers", "decoder_num_layers"), 2),
    **dict.fromkeys(("num_attention_heads", "n_head", "n_heads", "num_heads", "encoder_attention_heads",
                     "decoder_attention_heads", "decoder_num_attention_heads"), 4),
    **dict.fromkeys(("num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num"), 2),
    **dict.fromkeys(("head_dim", "d_kv", "kv_channels", "attention_head_size", "qk_nope_head_dim",
                     "qk_rope_head_dim", "v_head_dim"), 8),
    **dict.fromkeys(("intermediate_size", "d_ff", "ffn_dim", "encoder_ffn_dim", "decoder_ffn_dim", "n_inner",
                     "decoder_ffn_dim", "decoder_intermediate_size"), 64),
    **dict.fromkeys(("moe_intermediate_size", "shared_expert_intermediate_size", "expert_intermediate_size"), 32),
    **dict.fromkeys(EXPERT_COUNTS := ("num_experts", "num_local_experts", "n_routed_experts", "moe_num_experts"), 4),
    **dict.fromkeys(("num_experts_per_tok", "moe_topk", "top_k", "moe_k"), 2),
    **dict.fromkeys(("n_shared_experts", "n_group", "topk_group", "first_k_dense_replace"), 1),
    "kv_lora_rank": 16, "entity_emb_size": 32, "q_lora_rank": 32, "conv_pos_kernel_size": 5,
    "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 2,
}
# Types whose own arithmetic needs other tiny sizes than the generic ones: LiLT splits the hidden
# size in six 2-D tables, BROS in eight sinusoids of even size, X-CLIP's video transformer (mit_*)
# must match the vision tower.
SIZE_FIXES: dict[str, dict[str, Any]] = {
    "lilt": {"hidden_size": 48}, "bros": {"hidden_size": 64},
    "xclip": {"vision_config": {"mit_hidden_size": 32, "mit_intermediate_size": 64}},
    # M-RoPE sections (defaults in the modeling code fill a 128-wide head; see mrope_sections)
    "paddleocr_vl": {"text_config": {"rope_parameters": {"rope_type": "default", "rope_theta": 16.0,
                                                          "mrope_section": [2, 1, 1]}}},
    "qwen3_asr": {"audio_config": {"output_dim": 32}},   # the audio projection lands in the text width
    "voxtral": {"audio_token_id": 24}}   # its default is None; Mistral's checkpoints set 24
# M-RoPE gives height and width the lowest rotary frequencies: with a tiny head and the default theta
# (1e6) they hardly turn, and verification could not tell wrong image positions from right ones.
MROPE_THETA = {"rope_theta": 16.0}
LIST_SHRINK = {"depths": 1, "depth": 1, "conv_dim": 32}            # each element at most this
SPECIAL_IDS = {"pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2, "decoder_start_token_id": 2,
               "sep_token_id": 2, "cls_token_id": 1, "mask_token_id": 3, "unk_token_id": 3}
# As shapeprof.testing.tiny's decoders: untied head, larger init, so that greedy decoding varies
# and is not decided by near-ties.
GENERATIVE_INIT = {"tie_word_embeddings": False, "initializer_range": 0.1}
MAIN_INPUT_MODALITY = {"pixel_values": "image", "input_values": "audio", "input_features": "audio",
                       "input_ids": "text"}
LAYER_LISTS = ("layer_types", "layers_block_type", "block_types", "mlp_only_layers")
KIND_LISTS = ("layer_types", "layers_block_type", "block_types")   # per-layer kinds: attention, mamba, ...
MAX_HYBRID_LAYERS = 8
SUB_CONFIGS = ("text_config", "vision_config", "audio_config", "encoder_config", "decoder_config",
               "speech_config", "qformer_config")


# ---- which types, which task, which modality (no model built) -----------------------------------

def candidate_types() -> list[str]:
    """Every model type in transformers' Auto mappings of the tasks shapeprof knows."""
    from transformers.models.auto import modeling_auto

    from shapeprof.onnx.tasks import TASKS

    types: set[str] = set()
    for task in TASKS.values():
        for mapping in (task.mapping, *(m for _, m in task.alternatives)):
            types |= set(getattr(modeling_auto, mapping, {}))
    return sorted(types)


def main_task(model_type: str, registry: Any) -> str | None:
    """The task the census exports: the registered main task, else the first of ``MAIN_TASKS``
    transformers has a head for (encoders with a causal-LM head stay encoders; encoder-decoders
    generate as encoder-decoders)."""
    from transformers.models.auto import modeling_auto as auto

    from shapeprof.onnx.tasks import has_head

    if model_type in registry:
        tasks = registry.tasks(model_type)
        return next((t for t in MAIN_TASKS if t in tasks), tasks[0])
    skip = set()
    if model_type in auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES or model_type in (
            auto.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES) or model_type in (
            auto.MODEL_FOR_SPEECH_SEQ_2_SEQ_MAPPING_NAMES):
        skip.add("text-generation-with-past")
    if decoder_only_seq2seq(model_type):   # shapeprof's seq2seq tasks split an encoder and a decoder
        skip |= {"text2text-generation-with-past", "automatic-speech-recognition-with-past"}
        if model_type not in auto.MODEL_FOR_CTC_MAPPING_NAMES:   # its ASR head is the seq2seq one
            skip.add("automatic-speech-recognition")
    return next((t for t in MAIN_TASKS if t not in skip and has_head(model_type, t)), None)


def decoder_only_seq2seq(model_type: str) -> bool:
    """A decoder-only type in transformers' seq2seq mappings (audio LMs: Voxtral, Qwen2-Audio): the
    census exports its feature-extraction, with a tokenizer beside its audio tower. False when the
    default config cannot be built (the seq2seq task is then tried, as before)."""
    from transformers.models.auto import modeling_auto as auto
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    if model_type not in auto.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES and (
            model_type not in auto.MODEL_FOR_SPEECH_SEQ_2_SEQ_MAPPING_NAMES):
        return False
    try:
        return not CONFIG_MAPPING[model_type]().is_encoder_decoder
    except Exception:   # no config class, a missing dependency, a config needing arguments
        return False


def modality_guess(model_type: str, task: str | None, registry: Any) -> str:
    """text, image, audio, text+image or other: from the task, the registered class, else the
    preprocessor mappings."""
    from transformers.models.auto import auto_mappings, tokenization_auto

    by_task = {"zero-shot-image-classification": "text+image", "image-classification": "image",
               "automatic-speech-recognition": "audio", "automatic-speech-recognition-with-past": "audio",
               "audio-classification": "audio"}
    if task in by_task:   # speech to text (Whisper) is audio here
        return by_task[task]
    if model_type in registry:
        from shapeprof.modality import modality_of_config_class

        return modality_of_config_class(registry.get(model_type))
    tokenizer = model_type in tokenization_auto.TOKENIZER_MAPPING_NAMES
    if model_type in auto_mappings.IMAGE_PROCESSOR_MAPPING_NAMES:
        return "text+image" if tokenizer else "image"
    if model_type in auto_mappings.FEATURE_EXTRACTOR_MAPPING_NAMES:
        return "audio"
    if tokenizer or task in ("text-generation-with-past", "text2text-generation-with-past"):
        return "text"
    return "other"


# ---- classification (pure; unit-tested) ---------------------------------------------------------

def one_line(text: str, limit: int = REASON_CHARS) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    line = lines[0] if lines else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


def describe(error: BaseException) -> str:
    """``Type: first line of the message``."""
    return one_line(f"{type(error).__name__}: {one_line(str(error))}".rstrip(": "))


def classify_exception(error: BaseException) -> tuple[str, str]:
    """(status, reason) for an exception raised by the export."""
    from shapeprof.errors import ShapeprofError, VerificationError

    if isinstance(error, VerificationError):
        return "mismatch", one_line(str(error))
    if isinstance(error, ShapeprofError):
        return "refused", one_line(str(error))
    return "crash", describe(error)


def classify_result(config: str, verification_passed: bool, generation_passed: bool = True) -> str:
    """Status of an export that returned: its config origin when everything verified."""
    if not (verification_passed and generation_passed):
        return "mismatch"
    return "derived" if config == "derived" else "registered"


def died(returncode: int | None, timed_out: bool, timeout: float, stderr: str) -> tuple[str, str]:
    """(status, reason) when the worker left no result: a timeout, a signal or an exit."""
    if timed_out:
        return "crash", f"timeout: no result after {timeout:g} s"
    tail = [line for line in stderr.strip().splitlines() if line.strip()]
    last = one_line(tail[-1]) if tail else ""
    how = f"killed by signal {-returncode}" if returncode is not None and returncode < 0 else f"exit {returncode}"
    return "crash", f"process died ({how}){': ' + last if last else ''}"


def short_reason(reason: str) -> str:
    """The reason without the registration hint derivation errors end with."""
    return reason.split(HINT, 1)[0]


# ---- JSON lines ---------------------------------------------------------------------------------

def append_jsonl(path: Path, record: Mapping[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(dict(record), sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of ``path``; a line cut short by a killed run is skipped; the last record of a
    type wins."""
    if not path.is_file():
        return []
    by_type: dict[str, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "model_type" in record and record.get("status") in STATUSES:
            by_type[record["model_type"]] = record
    return list(by_type.values())


# ---- markdown -----------------------------------------------------------------------------------

def summary(records: Iterable[Mapping[str, Any]]) -> dict[str, Counter]:
    """Counts per status, per modality and in total ("all")."""
    counts: dict[str, Counter] = {}
    for r in records:
        for key in (r.get("modality", "other"), "all"):
            counts.setdefault(key, Counter())[r["status"]] += 1
    return counts


def verified_share(counts: Mapping[str, int]) -> tuple[int, int]:
    """(exported and verified, buildable): the goal's numerator and denominator."""
    buildable = sum(n for s, n in counts.items() if s != "not buildable")
    return sum(counts.get(s, 0) for s in VERIFIED), buildable


def markdown(records: Sequence[Mapping[str, Any]], header: Mapping[str, str] | None = None) -> str:
    """The summary table per modality, then the types that did not verify, with reasons."""
    counts = summary(records)
    lines = []
    if header:
        lines += [f"- {k}: {v}" for k, v in header.items()] + [""]
    lines += ["| modality | types | " + " | ".join(STATUSES) + " | verified % |",
              "|---|---:|" + "---:|" * len(STATUSES) + "---:|"]
    order = [m for m in MODALITIES if m in counts] + sorted(set(counts) - set(MODALITIES) - {"all"})
    for key in [*order, "all"] if counts else []:
        c = counts[key]
        done, buildable = verified_share(c)
        share = f"{100 * done / buildable:.0f}" if buildable else "-"
        name = "**all**" if key == "all" else key
        lines.append(f"| {name} | {sum(c.values())} | " + " | ".join(str(c.get(s, 0)) for s in STATUSES)
                     + f" | {share} |")
    for status in VERIFIED:
        names = sorted(r["model_type"] + ("*" if r.get("exported_task") else "") + ("†" if r.get("main_task") else "")
                       for r in records if r["status"] == status)
        if names:
            lines += ["", f"Verified, {status} ({len(names)}): " + ", ".join(names)]
    if any(r.get("exported_task") for r in records if r["status"] in VERIFIED):
        lines += ["", "\\* exported without past (the model has no key/value cache), see the note in its record."]
    if any(r.get("main_task") for r in records if r["status"] in VERIFIED):
        lines += ["", "† verified on feature-extraction: its main task (`main_task`) was refused for the task "
                  "alone (`main_task_refused` in its record)."]
    problems = sorted((r for r in records if r["status"] in PROBLEMS),
                      key=lambda r: (PROBLEMS.index(r["status"]), r.get("modality", ""), r["model_type"]))
    if problems:
        lines += ["", "| model type | modality | task | status | reason |", "|---|---|---|---|---|"]
        for r in problems:
            reason = short_reason(r.get("reason") or "").replace("|", "\\|")
            task = r.get("task") or "-"
            task += f" (main task {r['main_task']} refused)" if r.get("main_task") else ""
            lines.append(f"| {r['model_type']} | {r.get('modality', '')} | {task} | "
                         f"{r['status']} | {reason} |")
    return "\n".join(lines) + "\n"


# ---- building a tiny model (worker side) --------------------------------------------------------

class NotBuildable(Exception):
    """transformers cannot build this type tiny, offline."""


def shrink_kwargs(config: Any, vocab: int | None = None) -> dict[str, Any]:
    """Constructor kwargs that make ``config`` (a default config instance) tiny; sub-configs
    (``text_config``, ``vision_config``, ...) are shrunk recursively and passed as dicts."""
    from transformers import PretrainedConfig

    kwargs: dict[str, Any] = {}
    public = {stored: name for name, stored in getattr(config, "attribute_map", {}).items()}
    for stored, value in vars(config).items():
        # kimi_linear stores num_experts_per_tok as num_experts_per_token: shrink it by its public name
        name = stored if stored in SHRINK else public.get(stored, stored)
        if isinstance(value, bool):
            continue
        if name in SHRINK and isinstance(value, int) and value > SHRINK[name]:
            kwargs[name] = SHRINK[name]
        elif name.endswith("_vocab_size") and isinstance(value, int) and value > 1024:
            kwargs[name] = 128      # entity, character, ... tables (LUKE's 500k entities)
        elif name in LIST_SHRINK and isinstance(value, (list, tuple)) and all(isinstance(v, int) for v in value):
            kwargs[name] = [min(v, LIST_SHRINK[name]) for v in value]
        elif name in SUB_CONFIGS and isinstance(value, PretrainedConfig):
            kwargs[name] = {"model_type": value.model_type, **shrink_kwargs(value, vocab)}
    heads = kwargs.get("num_attention_heads", getattr(config, "num_attention_heads", None))
    for kv in ("num_key_value_heads", "num_kv_heads"):   # multi-head attention stays multi-head
        if kv in kwargs and getattr(config, kv, None) == getattr(config, "num_attention_heads", None):
            kwargs[kv] = heads
    if vocab is not None and isinstance(getattr(config, "vocab_size", None), int):
        kwargs["vocab_size"] = vocab
        if isinstance(getattr(config, "decoder_vocab_size", None), int):
            kwargs["decoder_vocab_size"] = vocab
    text_vocab = kwargs.get("text_config", {}).get("vocab_size", getattr(getattr(config, "text_config", None),
                                                                         "vocab_size", None))
    if isinstance(text_vocab, int):   # image/video placeholders stay inside the shrunk text vocabulary
        kwargs.update(media_token_ids(config, text_vocab))
    size = kwargs.get("vocab_size", getattr(config, "vocab_size", None))
    if isinstance(size, int):
        for name, small in SPECIAL_IDS.items():
            value = getattr(config, name, None)
            if isinstance(value, int) and not isinstance(value, bool) and value >= size:
                kwargs[name] = small
            elif isinstance(value, (list, tuple)) and any(isinstance(v, int) and v >= size for v in value):
                kwargs[name] = [v for v in value if isinstance(v, int) and v < size] or small
    text = getattr(config, "text_config", None)
    if "mrope_section" in getattr(text, "ignore_keys_at_rope_validation", ()) and "text_config" in kwargs:
        kwargs["text_config"]["rope_parameters"] = {**(getattr(text, "rope_parameters", None) or {}), **MROPE_THETA,
                                                    "mrope_section": mrope_sections(text, kwargs["text_config"])}
    return kwargs


def mrope_sections(config: Any, kwargs: Mapping[str, Any]) -> list[int]:
    """M-RoPE's (temporal, height, width) sections of the shrunk rotary half-dimension of a
    vision-language model's text config (the model's defaults, e.g. [16, 24, 24], fill a 128-wide
    head; text-only models are left as they are)."""
    heads = kwargs.get("num_attention_heads", getattr(config, "num_attention_heads", 1))
    head = kwargs.get("head_dim") or getattr(config, "head_dim", None)
    head = head or kwargs.get("hidden_size", getattr(config, "hidden_size", 32)) // heads
    factor = (getattr(config, "rope_parameters", None) or {}).get("partial_rotary_factor", 1.0)
    half = int(head * factor) // 2
    side = (half + 1) // 3
    return [half - 2 * side, side, side]


def media_token_ids(config: Any, vocab: int) -> dict[str, Any]:
    """Top-level token ids (``image_token_id``, ``video_token_index``, ...) at or past ``vocab``,
    moved to distinct ids at the end of it, as real checkpoints have them inside theirs."""
    moved: dict[str, Any] = {}
    free = iter(range(vocab - 1, 2, -1))
    for name, value in sorted(vars(config).items()):
        if name in SPECIAL_IDS or name.startswith("_") or not name.endswith(("_token_id", "_token_index",
                                                                             "_token_ids")):
            continue
        if isinstance(value, int) and not isinstance(value, bool) and value >= vocab:
            moved[name] = next(free)
        elif isinstance(value, list) and any(isinstance(v, int) and v >= vocab for v in value):
            moved[name] = [next(free) if isinstance(v, int) and v >= vocab else v for v in value]
    return moved


def shrunk_config(config_class: type, task: str, vocab: int | None) -> Any:
    """A tiny instance of ``config_class``: its defaults shrunk (only the shrunk values are passed,
    so what the class derives from them, e.g. per-layer lists, follows)."""
    from shapeprof.testing.tiny import GENERATION_TASKS

    default = config_class()
    kwargs = shrink_kwargs(default, vocab)
    for name, value in SIZE_FIXES.get(getattr(config_class, "model_type", ""), {}).items():
        kwargs[name] = {**kwargs.get(name, {}), **value} if isinstance(value, dict) else value
    if task in GENERATION_TASKS:   # the registered decoders' recipe for a varying greedy output
        kwargs.update(GENERATIVE_INIT)
    if getattr(default, "num_experts_per_tok", 0) is None and any(isinstance(kwargs.get(n), int) for n in EXPERT_COUNTS):
        kwargs["num_experts_per_tok"] = 2   # DeepSeek-V2's default (None) cannot route
    kinds = layers_for_every_kind(default)
    if kinds and kinds > kwargs.get("num_hidden_layers", 0) and "num_hidden_layers" in kwargs:
        kwargs["num_hidden_layers"] = kinds
    if task == "automatic-speech-recognition" and getattr(default, "vocab_size", 0) is None:
        kwargs["vocab_size"] = 32   # a CTC head needs a vocabulary
    config = config_class(**kwargs)
    pinpoints = tile_pinpoints(config)
    if pinpoints is not None:
        config = config_class(**kwargs, image_grid_pinpoints=pinpoints)
    side = shuffled_image_size(config)
    if side is not None:
        kwargs["vision_config"] = {**kwargs.get("vision_config", {}), "image_size": side}
        config = config_class(**kwargs, **({"image_grid_pinpoints": pinpoints} if pinpoints else {}))
    vision_fixes = vision_consistency(config)
    if vision_fixes:
        config = config_class(**kwargs, **vision_fixes, **({"image_grid_pinpoints": pinpoints} if pinpoints else {}))
    layers = getattr(config, "num_hidden_layers", None)
    for name in LAYER_LISTS:   # an explicit per-layer list longer than the layers
        value = getattr(config, name, None)
        if isinstance(layers, int) and isinstance(value, list) and len(value) > layers:
            try:
                config = config_class(**kwargs, **{name: value[:layers]})
            except Exception:
                pass
    return config


def tile_pinpoints(config: Any) -> list[list[int]] | None:
    """A tiled-image model's grid resolutions rescaled to multiples of its (shrunk) vision tower's
    image size, as real checkpoints have them (336-pixel tiles, grids of 336 multiples); None when
    they already are, or the model does not tile."""
    import math

    pinpoints = getattr(config, "image_grid_pinpoints", None)
    side = getattr(getattr(config, "vision_config", None), "image_size", None)
    if not pinpoints or not isinstance(side, int) or all(v % side == 0 for p in pinpoints for v in p):
        return None
    unit = math.gcd(*(v for p in pinpoints for v in p))
    return [[v // unit * side for v in p] for p in pinpoints]


def shuffled_image_size(config: Any) -> int | None:
    """An image size whose patches per side the pixel shuffle's ``scale_factor`` divides (Idefics3,
    SmolVLM merge scale x scale patches), at most the vision tower's; None when it already does."""
    scale = getattr(config, "scale_factor", None)
    vision = getattr(config, "vision_config", None)
    side, patch = getattr(vision, "image_size", None), getattr(vision, "patch_size", None)
    if not all(isinstance(v, int) and v > 0 for v in (scale, side, patch)) or (side // patch) % scale == 0:
        return None
    return patch * scale * max(1, side // (patch * scale))


def vision_consistency(config: Any) -> dict[str, Any]:
    """What a shrunk vision-language config needs to stay consistent with its shrunk vision tower:
    ``vision_feature_layer`` indices inside its layers (VipLLaVA reads layer 6 and -11), and
    ``mm_tokens_per_image`` at most its patches (Gemma 3 pools patches into that many tokens), a
    query count for its number of patches (Aria's projector)."""
    vision = getattr(config, "vision_config", None)
    fixes: dict[str, Any] = {}
    layers = getattr(vision, "num_hidden_layers", None)
    chosen = getattr(config, "vision_feature_layer", None)
    several = isinstance(chosen, (list, tuple))
    if isinstance(layers, int) and (several or isinstance(chosen, int)) and not isinstance(chosen, bool):
        indices = list(chosen) if several else [chosen]
        clamped = [max(-layers - 1, min(i, layers)) for i in indices]
        if clamped != indices:
            fixes["vision_feature_layer"] = clamped if several else clamped[0]
    tokens = getattr(config, "mm_tokens_per_image", None)
    side, patch = getattr(vision, "image_size", None), getattr(vision, "patch_size", None)
    if all(isinstance(v, int) and v > 0 for v in (tokens, side, patch)) and tokens > (side // patch) ** 2:
        fixes["mm_tokens_per_image"] = (side // patch) ** 2
    queries = getattr(config, "projector_patch_to_query_dict", None)   # Aria: queries per patch count
    if isinstance(queries, dict) and queries and all(isinstance(v, int) and v > 0 for v in (side, patch)):
        patches = (side // patch) ** 2
        if patches not in {int(k) for k in queries}:
            fixes["projector_patch_to_query_dict"] = {**queries, patches: min(queries.values())}
    return fixes


def tokenizer_for(task: str, modality: str) -> tuple[str, Any] | None:
    """(name, a real tokenizer) for text models: GPT-2's for generative ones, MiniLM's otherwise."""
    from transformers import AutoTokenizer

    if modality in ("image", "other") or task in ("image-classification", "audio-classification") or (
            modality == "audio" and not task.endswith("-with-past")):
        return None
    if "generation" in task or task.endswith("-with-past"):
        path = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "models" / "tiny-gpt2"
        tokenizer = AutoTokenizer.from_pretrained(path)
        tokenizer.pad_token = tokenizer.eos_token
        return "gpt2 (shared/data/models/tiny-gpt2)", tokenizer
    from shapeprof.default_model import default_model_dir

    return "all-MiniLM-L6-v2", AutoTokenizer.from_pretrained(default_model_dir())


# Types transformers maps no processor for, whose checkpoints use their base family's.
PROCESSOR_OF = {"dinov2_with_registers": "dinov2"}


def media_processor(model_type: str, kind: str, config: Any) -> tuple[str, Any] | None:
    """(class name, instance) of the type's image processor or feature extractor, default args."""
    from transformers.models.auto import auto_mappings, image_processing_auto
    from transformers.models.auto.feature_extraction_auto import (
        feature_extractor_class_from_name,
    )

    mapping = (auto_mappings.IMAGE_PROCESSOR_MAPPING_NAMES if kind == "image"
               else auto_mappings.FEATURE_EXTRACTOR_MAPPING_NAMES)
    name = mapping.get(PROCESSOR_OF.get(model_type, model_type))
    if isinstance(name, dict):
        name = name.get("pil") or next((n for n in name.values() if n), None)
    if isinstance(name, (list, tuple)):
        name = next((n for n in name if n), None)
    if not name:
        return None
    resolve = (image_processing_auto.get_image_processor_class_from_name if kind == "image"
               else feature_extractor_class_from_name)
    cls = resolve(name)
    if cls is None:
        raise NotBuildable(f"{name} is not available (a missing optional dependency)")
    kwargs = {}
    mels = getattr(config, "num_mel_bins", None)
    if kind == "audio" and isinstance(mels, int) and "feature_size" in _init_params(cls):
        kwargs["feature_size"] = mels
    try:
        processor = cls(**kwargs)
    except Exception as e:
        raise NotBuildable(f"{name}() fails: {describe(e)}") from e
    side = _image_side(config)
    if kind == "image" and side and isinstance(getattr(processor, "size", None), dict):
        size = processor.size
        processor.size = ({"height": side, "width": side} if "height" in size else
                          {"shortest_edge": side} if "shortest_edge" in size else size)
        if isinstance(getattr(processor, "crop_size", None), dict):
            processor.crop_size = {"height": side, "width": side}
    return name, processor


def _init_params(cls: type) -> set[str]:
    import inspect

    try:
        return set(inspect.signature(cls.__init__).parameters)
    except (TypeError, ValueError):
        return set()


def _image_side(config: Any) -> int | None:
    for cfg in (config, getattr(config, "vision_config", None)):
        size = getattr(cfg, "image_size", None)
        if isinstance(size, int):
            return size
        if isinstance(size, (list, tuple)) and size and isinstance(size[0], int):
            return int(size[0])
    return None


def layers_for_every_kind(config: Any) -> int | None:
    """Layers a shrunk hybrid model needs to keep one layer of each kind of its default (attention
    and linear-attention, mamba or recurrent layers): up to the first of the last kind to appear
    (at most ``MAX_HYBRID_LAYERS``); None for one kind."""
    for name in KIND_LISTS:
        try:
            value = getattr(config, name, None)
        except Exception:   # a per-layer property refusing a global read
            value = None
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
            firsts: dict[str, int] = {}
            for i, kind in enumerate(value):
                firsts.setdefault(kind, i)
            last = max(firsts.values()) + 1
            return last if 1 < last <= MAX_HYBRID_LAYERS else None
    return None


def reinit_zero_routers(model: Any, std: float) -> list[str]:
    """Draw the all-zero router gates of a mixture of experts (AFMoE initializes them to zero) from
    N(0, std), seeded; their names. A zero gate scores every expert alike, so the choice of experts
    is a tie that torch and onnxruntime break differently: a property of the init, not the export."""
    import torch

    names = []
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            router = any(part in ("router", "gate") for part in name.split("."))
            if router and param.dim() == 2 and not param.any():
                param.copy_(torch.randn(param.shape, generator=generator) * std)
                names.append(name)
    return names


def build(model_type: str, task: str, modality: str, registry: Any, out: Path) -> dict[str, Any]:
    """Build the tiny model of ``model_type`` for ``task`` and save it with its preprocessors into
    ``out``; returns what was built. Raises ``NotBuildable``."""
    import torch
    from transformers import AutoConfig, PretrainedConfig
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    from shapeprof.onnx.tasks import auto_class
    from shapeprof.testing import tiny

    text = tokenizer_for(task, "text" if decoder_only_seq2seq(model_type) else modality)
    vocab = len(text[1]) if text else None
    info: dict[str, Any] = {"preprocessors": [text[0]] if text else []}
    if model_type in registry and model_type in tiny.TINY_CONFIGS:
        overrides: dict[str, Any] = {}
        spec = tiny.TINY_CONFIGS[model_type]
        if vocab and "text_config" in spec:
            overrides["text_config"] = {**spec["text_config"], "vocab_size": vocab}
        elif vocab:
            overrides["vocab_size"] = vocab
            if "decoder_vocab_size" in spec:
                overrides["decoder_vocab_size"] = vocab
        if task in tiny.GENERATION_TASKS:
            overrides = {**tiny.VARIED_GREEDY.get(model_type, {}), **overrides}
        config = tiny.tiny_config(model_type, **overrides)
        info["sizes"] = "shapeprof.testing.tiny"
    else:
        try:
            config_class = CONFIG_MAPPING[model_type]
        except Exception as e:   # KeyError: no config class (remote code), ImportError: missing dependency
            raise NotBuildable(f"no config class: {describe(e)}") from e
        try:
            config = shrunk_config(config_class, task, vocab)
        except Exception as e:
            raise NotBuildable(f"{config_class.__name__} cannot be built shrunk: "
                               f"{describe(e)}") from e
        info["sizes"] = "shrunk defaults"
    assert isinstance(config, PretrainedConfig) and AutoConfig
    model_class = auto_class(task, model_type)
    try:
        with torch.device("meta"):
            params = sum(p.numel() for p in model_class.from_config(config).parameters())
    except Exception:
        params = None   # some models cannot be built on the meta device: count after building
    if params is not None and params > MAX_PARAMETERS:
        raise NotBuildable(f"{params / 1e6:.0f}M parameters even shrunk (over {MAX_PARAMETERS / 1e6:.0f}M)")
    torch.manual_seed(0)
    try:
        model = model_class.from_config(config).eval()
    except Exception as e:
        raise NotBuildable(f"{model_class.__name__}.from_config fails: {describe(e)}") from e
    params = sum(p.numel() for p in model.parameters())
    if params > MAX_PARAMETERS:
        raise NotBuildable(f"{params / 1e6:.0f}M parameters even shrunk (over {MAX_PARAMETERS / 1e6:.0f}M)")
    info["parameters"] = params
    if task in tiny.GENERATION_TASKS:
        routers = reinit_zero_routers(model, float(getattr(config, "initializer_range", 0.02) or 0.02))
        if routers:
            info["reinitialized"] = routers
    main = info["main_input"] = getattr(model, "main_input_name", "input_ids")
    kinds = [k for k, wanted in (("image", main == "pixel_values" or modality in ("image", "text+image")),
                                 ("audio", main in ("input_values", "input_features"))) if wanted]
    media = []
    for kind in kinds:
        found = media_processor(model_type, kind, config)
        if found is not None:
            media.append(found)
    if kinds and not media:
        raise NotBuildable(f"no {' or '.join(kinds)} preprocessor class for {model_type!r}")
    if not text and not media:
        raise NotBuildable(f"no preprocessor for main input {main!r}")
    try:
        model.save_pretrained(out)
        if text:
            text[1].save_pretrained(out)
        for _, processor in media:
            processor.save_pretrained(out)
    except Exception as e:
        raise NotBuildable(f"save_pretrained fails: {describe(e)}") from e
    info["preprocessors"] += [name for name, _ in media]
    return info


FALLBACK_TASK = "feature-extraction"   # tried when derivation does not serve the main task


def task_refused(record: Mapping[str, Any]) -> bool:
    """Whether a refusal is about the task alone (derivation serves another task of the family,
    or the main task's head builds a sub-model with no head of its own), not the model."""
    reason = record.get("reason") or ""
    return record.get("status") == "refused" and (record.get("refused_part") == "task" or (
        record.get("error_type") == "ConfigError" and reason.startswith("config error: transformers has no ")))


def run_one(model_type: str) -> dict[str, Any]:
    """Build, export and verify one model type (in this process); the record to append. When the
    main task is refused for the task alone, ``feature-extraction`` is tried: the record's ``task``
    is then the task verified (or refused), ``main_task`` and ``main_task_refused`` say why."""
    from shapeprof.commands import quiet_libraries
    from shapeprof.onnx.builtin import default_registry
    from shapeprof.onnx.tasks import has_head

    quiet_libraries()
    registry = default_registry()
    task = main_task(model_type, registry)
    modality = modality_guess(model_type, task, registry)
    record: dict[str, Any] = {"model_type": model_type, "task": task, "modality": modality,
                              "registered": model_type in registry}
    if task is None:
        return {**record, "status": "not buildable", "reason": "transformers has no head for a task shapeprof knows",
                "seconds": 0.0}
    start = time.perf_counter()
    result = attempt(model_type, task, modality, registry, record)
    if task != FALLBACK_TASK and task_refused(result) and has_head(model_type, FALLBACK_TASK):
        refusal = short_reason(result["reason"])
        fallback = attempt(model_type, FALLBACK_TASK, modality, registry, {**record, "task": FALLBACK_TASK})
        if fallback["status"] != "not buildable":   # else the main task's refusal stands
            result = {**fallback, "main_task": task, "main_task_refused": refusal}
    result.pop("refused_part", None)
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


def attempt(model_type: str, task: str, modality: str, registry: Any, base: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` completed by building ``model_type`` tiny for ``task``, exporting and verifying it."""
    from shapeprof.export import export

    record = dict(base)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"census-{model_type}-") as tmp:
        model_dir = Path(tmp) / "model"
        try:
            record.update(build(model_type, task, modality, registry, model_dir))
            if modality == "other":   # the mappings did not say; the model's main input does
                record["modality"] = MAIN_INPUT_MODALITY.get(record["main_input"], "other")
        except NotBuildable as e:
            return {**record, "status": "not buildable", "reason": one_line(str(e))}
        except Exception as e:   # a bug in building: count it, it is ours or transformers'
            return {**record, "status": "not buildable", "reason": describe(e),
                    "traceback": traceback.format_exc()[-2000:]}
        record["build_seconds"] = round(time.perf_counter() - start, 1)
        try:
            result = export(str(model_dir), Path(tmp) / "onnx", task=task)
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            status, reason = classify_exception(e)
            record.update(status=status, reason=reason, error_type=type(e).__name__)
            if getattr(e, "part", None):
                record["refused_part"] = e.part
            if status == "crash":
                record["traceback"] = traceback.format_exc()[-3000:]
        else:
            record.update(exported(result, task))
    return record


def exported(result: Any, task: str) -> dict[str, Any]:
    """What the census records of an export that returned."""
    generation_ok = all(c.passed for c in result.generation)
    record = {"status": classify_result(result.config, result.verification.passed, generation_ok),
              "config": result.config, "export_seconds": round(result.export_seconds, 1),
              "max_abs_diff": max((o.max_abs_diff for c in result.verification.checks for o in c.outputs),
                                  default=None),
              "notes": list(result.notes)}
    if result.task != task:   # a derived decoder without a cache falls back to no past
        record["exported_task"] = result.task
    if result.generation:
        record["generation"] = [f"{c.matching_tokens}/{c.new_tokens}" for c in result.generation]
    return record


# ---- the driver (parent side) -------------------------------------------------------------------

def run_in_subprocess(model_type: str, timeout: float, threads: int) -> dict[str, Any]:
    """``run_one`` in a fresh interpreter; a timeout or a dead process is a crash."""
    import signal

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                      env.get("PYTHONPATH")]))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="census-result-") as tmp:
        result = Path(tmp) / "result.json"
        proc = subprocess.Popen([sys.executable, __file__, "--worker", model_type, "--result", str(result),
                                 "--threads", str(threads)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        timed_out = False
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)   # the worker's own process group: it and its children
            _, stderr = proc.communicate()
        if result.is_file() and not timed_out:
            return json.loads(result.read_text(encoding="utf-8"))
    status, reason = died(proc.returncode, timed_out, timeout, stderr or "")
    return {"model_type": model_type, "status": status, "reason": reason, "error_type": "timeout" if timed_out
            else "died", "seconds": round(time.perf_counter() - start, 1), "stderr_tail": (stderr or "")[-2000:]}


def select(types: Sequence[str], modality: str | None, limit: int | None, registry: Any) -> list[tuple[str, str]]:
    """(model type, modality) of the types to run."""
    chosen = []
    for mt in types:
        try:
            guess = modality_guess(mt, main_task(mt, registry), registry)
        except Exception:
            guess = "other"
        if modality is None or guess == modality:
            chosen.append((mt, guess))
        if limit is not None and len(chosen) >= limit:
            break
    return chosen


def versions() -> dict[str, str]:
    import onnxruntime
    import torch
    import transformers

    return {"transformers": transformers.__version__, "torch": torch.__version__.split("+")[0],
            "onnxruntime": onnxruntime.__version__}


def write_markdown(records: Sequence[Mapping[str, Any]], path: Path, command: str,
                   summarized: str | None = None) -> None:
    header = {"command": f"`{command}`", **({"summarized with": f"`{summarized}`"} if summarized else {}),
              **versions(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "types": str(len(records))}
    path.write_text(markdown(records, header), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--types", default=None, help="comma-separated model types (default: every candidate)")
    parser.add_argument("--modality", choices=MODALITIES, default=None)
    parser.add_argument("--limit", type=int, default=None, help="at most this many types")
    parser.add_argument("--jobs", type=int, default=1, help="types run at the same time (default 1)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per type (default 120)")
    parser.add_argument("--threads", type=int, default=1, help="torch/onnxruntime threads per worker")
    parser.add_argument("--out", type=Path, default=Path("census.jsonl"), help="JSON-lines results")
    parser.add_argument("--resume", action="store_true", help="skip the types already in --out")
    parser.add_argument("--rerun", default="", help="with --resume: run again the types whose last status is "
                        "one of these (comma-separated, e.g. crash,mismatch)")
    parser.add_argument("--markdown", type=Path, default=None, help="write the summary table here")
    parser.add_argument("--summarize", action="store_true", help="only write --markdown from --out")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        import torch

        torch.set_num_threads(args.threads)
        record = run_one(args.worker)
        args.result.write_text(json.dumps(record), encoding="utf-8")
        return 0
    command = "python benchmarks/census.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.summarize:
        if args.markdown is None:
            parser.error("--summarize needs --markdown")
        write_markdown(read_jsonl(args.out), args.markdown, f"python benchmarks/census.py --out {args.out} ...",
                       summarized=command)
        return 0

    from shapeprof.onnx.builtin import default_registry

    registry = default_registry()
    types = args.types.split(",") if args.types else candidate_types()
    todo = select(types, args.modality, args.limit, registry)
    if args.resume:
        again = set(filter(None, args.rerun.split(",")))
        unknown = again - set(STATUSES)
        if unknown:
            parser.error(f"--rerun: unknown status {', '.join(sorted(unknown))}; use {', '.join(STATUSES)}")
        done = {r["model_type"] for r in read_jsonl(args.out) if r["status"] not in again}
        todo = [(mt, m) for mt, m in todo if mt not in done]
    elif args.out.exists():
        args.out.unlink()
    print(f"census: {len(todo)} type(s), results in {args.out}", file=sys.stderr)
    from concurrent.futures import ThreadPoolExecutor

    def one(item: tuple[str, str]) -> dict[str, Any]:
        mt, guess = item
        start = time.perf_counter()
        record = run_in_subprocess(mt, args.timeout, args.threads)
        record.setdefault("modality", guess)
        record["wall_seconds"] = round(time.perf_counter() - start, 1)   # with the interpreter's start
        append_jsonl(args.out, record)
        print(f"{mt:32s} {record['status']:14s} {record.get('seconds', 0):6.1f}s  "
              f"{short_reason(record.get('reason') or '')[:100]}", file=sys.stderr, flush=True)
        return record

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(one, todo))
    if args.markdown is not None:
        write_markdown(read_jsonl(args.out), args.markdown, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
