"""Probes for derivation: preprocessor names, forward parameters, attribute names, output axes,
and whether attention takes the fusable form. See :mod:`shapeprof.onnx.derive`."""


from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError

if TYPE_CHECKING:
    from ..base import OnnxConfig

PROBED = "(probed)"   # NormalizedConfig attribute name for a value no config attribute holds
PROBE_KEY = "shapeprof_probe"

# Config attribute names tried, in order, for each normalized name.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "vocab_size": ("vocab_size", "n_vocab", "padded_vocab_size"),
    "num_layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers"),
    "decoder_num_layers": ("decoder_layers", "num_decoder_layers", "decoder_num_layers", "num_layers",
                           "num_hidden_layers"),
    "num_attention_heads": ("num_attention_heads", "n_head", "num_heads", "n_heads",
                            "decoder_attention_heads"),
    "num_key_value_heads": ("num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num",
                            "num_attention_heads", "n_head", "num_heads"),
    "head_dim": ("head_dim", "d_kv", "kv_channels", "attention_head_size"),
    "hidden_size": ("hidden_size", "d_model", "n_embd", "dim"),
    "max_position_embeddings": ("max_position_embeddings", "n_positions", "max_sequence_length", "n_ctx",
                                "seq_length", "max_target_positions"),
}
TEXT_ORDER = ("input_ids", "attention_mask", "token_type_ids")   # the registered encoders' order
CONSUMED = {"return_dict", "output_attentions", "output_hidden_states", "use_cache", "labels",
            "inputs_embeds", "past_key_values", "cache_position", "head_mask", "kwargs",
            "encoder_hidden_states", "encoder_attention_mask", "logits_to_keep"}


def registration_hint(model_type: str, task: str, base: str) -> str:
    return (f"register a class for it: @shapeprof.register({model_type!r}, {task!r}) on a subclass of "
            f"{base} naming its inputs (README: Derived configs)")


class DeriveError(ConfigError):
    """Derivation failed; the message names the part and how to register a class instead."""

    def __init__(self, model_type: str, task: str, part: str, reason: str, base: str = "OnnxConfig"):
        self.part = part   # "task": the family does not serve this task (another may be derived)
        super().__init__(f"cannot derive an ONNX config for {model_type!r} ({task}): {part}: "
                         f"{reason}; {registration_hint(model_type, task, base)}")


# ---- what the model says about itself ----------------------------------------------------------

PREPROCESSOR_KINDS = ("text", "image", "audio")


def preprocessor_inputs(model_type: str, kind: str = "text") -> tuple[str | None, tuple[str, ...]]:
    """(class name, ``model_input_names``) of the model type's preprocessor of ``kind``: its
    tokenizer ("text"), image processor ("image") or feature extractor ("audio"); (None, ())
    when it has none."""
    from transformers.models.auto import auto_mappings, image_processing_auto, tokenization_auto
    from transformers.models.auto.feature_extraction_auto import feature_extractor_class_from_name

    lookups = {
        "text": (tokenization_auto.TOKENIZER_MAPPING_NAMES, tokenization_auto.tokenizer_class_from_name),
        "image": (auto_mappings.IMAGE_PROCESSOR_MAPPING_NAMES,
                  image_processing_auto.get_image_processor_class_from_name),
        "audio": (auto_mappings.FEATURE_EXTRACTOR_MAPPING_NAMES, feature_extractor_class_from_name),
    }
    mapping, resolve = lookups[kind]
    name = mapping.get(model_type)
    if isinstance(name, dict):
        name = name.get("pil") or next(iter(name.values()), None)
    if isinstance(name, (list, tuple)):
        name = next((n for n in name if n), None)
    cls = _resolve(resolve, name)
    return (cls.__name__, tuple(getattr(cls, "model_input_names", ()))) if cls is not None else (None, ())


def _resolve(resolve: Any, name: str | None) -> Any:
    if not name:
        return None
    try:
        return resolve(name)
    except Exception:  # an optional backend missing (e.g. no torchvision): try the next kind
        return None


def forward_params(model: Any) -> dict[str, bool]:
    """``forward``'s named parameters -> whether each is required (has no default)."""
    params = inspect.signature(model.forward).parameters.values()
    return {p.name: p.default is inspect.Parameter.empty for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def check_required(model: Any, task: str, given: set[str], base: str) -> None:
    """Fail when ``forward`` requires an input nobody provides (no preprocessor, no generator)."""
    missing = [n for n, required in forward_params(model).items() if required and n not in given]
    if missing:
        raise DeriveError(model.config.model_type, task, "inputs",
                          f"forward requires {', '.join(map(repr, missing))}, which no preprocessor of "
                          f"the model produces", base)


def attribute_names(config: Any, values: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """(normalized name -> config attribute, probed literals) for measured ``values``.

    Each value is mapped to the first candidate attribute holding it, so the derived class works
    for every size of the architecture; a value no attribute holds is kept as a literal.
    """
    mapping, literals = {}, {}
    for name, value in values.items():
        attr = next((a for a in CANDIDATES.get(name, (name,)) if config_value(config, a) == value), None)
        if attr is None:
            mapping[name], literals[name] = PROBED, value
        else:
            mapping[name] = attr
    return mapping, literals


def config_value(config: Any, name: str) -> Any:
    """``config.name``, or None when the config has none or refuses it (a per-layer value)."""
    try:
        return getattr(config, name)
    except Exception:   # configs raise odd errors for computed attributes
        return None


def normalized_class(base: type, config: Any, values: Mapping[str, Any],
                     optional: Mapping[str, Any] | None = None) -> type:
    """A ``base`` subclass mapping measured ``values``, and ``optional`` names to the config attribute
    that has them (else to their fallback value, or, when that is None, to the base's default)."""
    mapping, literals = attribute_names(config, values)
    for name, fallback in (optional or {}).items():
        attr = next((a for a in CANDIDATES.get(name, (name,)) if config_value(config, a) is not None), None)
        if attr is not None:
            mapping.setdefault(name, attr)
        elif fallback is not None and name not in mapping:
            mapping[name], literals[name] = PROBED, fallback
    attrs = {"ATTRIBUTES": {**base.ATTRIBUTES, **mapping}, "DEFAULTS": {**base.DEFAULTS, **literals},
             "__module__": __name__}
    return type(f"Derived{base.__name__}", (base,), attrs)


def vocab_size(model: Any) -> int | None:
    """Rows of the input embedding; None when the model has none it can name (CANINE hashes
    characters, FastSpeech2 embeds phonemes its own way)."""
    try:
        embeddings = model.get_input_embeddings()
    except (AttributeError, NotImplementedError):   # transformers 5 raises for unnamed embeddings
        return None
    return int(embeddings.num_embeddings) if hasattr(embeddings, "num_embeddings") else None


def has_routed_experts(model: Any) -> bool:
    """Whether the model's experts dispatch on ``config._experts_implementation`` (transformers'
    ``use_experts_implementation``): their default, grouped_mm, has no ONNX function."""
    return any(hasattr(m, "_is_expert_parallel") and hasattr(m, "is_concatenated") for m in model.modules())


def position_offset(model: Any) -> int:
    """Positions reserved before the first token: RoBERTa-style embeddings count from padding_idx + 1."""
    for name, module in model.named_modules():
        if name.endswith("position_embeddings") and getattr(module, "padding_idx", None) is not None:
            return int(module.padding_idx) + 1
    return 0


# ---- probing -----------------------------------------------------------------------------------

def run(model: Any, cfg: OnnxConfig, sizes: Mapping[str, int]) -> Any:
    """One eager forward pass on ``cfg``'s dummy inputs at ``sizes``."""
    import torch

    inputs = cfg.generate_dummy_inputs("pt", **sizes)
    with torch.no_grad():
        return model(**cfg.to_model_kwargs(dict(inputs)), return_dict=True)


def probe_output_axes(model: Any, cfg: OnnxConfig, base: Mapping[str, int], moved: Mapping[str, int],
                      names: list[str]) -> tuple[dict[str, dict[int, str]], dict[str, dict[int, Any]]]:
    """Run at ``base`` and once per axis of ``moved`` (that axis changed); per output dimension,
    the axis it follows (same size as the axis in every run), else static (its size) or derived.

    Returns (dynamic axes by output, {output: {dim: size or "derived from <axis>"}}).
    """
    runs = {None: _shapes(run(model, cfg, base), names)}
    for axis, size in moved.items():
        runs[axis] = _shapes(run(model, cfg, {**base, axis: size}), names)
    axes: dict[str, dict[int, str]] = {}
    fixed: dict[str, dict[int, Any]] = {}
    for name, shape in runs[None].items():
        axes[name], fixed[name] = {}, {}
        for dim, n in enumerate(shape):
            movers = [a for a in moved if runs[a][name][dim] != n]
            follows = [a for a in movers if n == base[a] and runs[a][name][dim] == moved[a]]
            if len(movers) == 1 and follows:
                axes[name][dim] = follows[0]
            else:
                fixed[name][dim] = f"derived from {', '.join(movers)}" if movers else int(n)
    return axes, fixed


def _shapes(out: Any, names: list[str]) -> dict[str, tuple[int, ...]]:
    shapes = {}
    for name in names:
        value = out.get(name) if hasattr(out, "get") else None
        if value is None:
            raise KeyError(name)
        shapes[name] = tuple(value.shape)
    return shapes


def dynamic_trace_guard(model: Any, cfg: OnnxConfig) -> str | None:
    """None when torch.export keeps every dynamic axis of ``cfg``'s plan dynamic over its whole range,
    else the first guard it needed ("Ne(Mod(height//16, 2), 0)": the model pads or branches on other
    sizes). torch.onnx accepts such guards silently and the graph is then wrong at other sizes."""
    import torch

    from ...export.convert import OutputSelector, dynamic_shapes_for
    from ...export.plan import plan_export

    plan = plan_export(cfg)
    inputs = cfg.generate_dummy_inputs("pt", **plan.trace_shapes)
    module = OutputSelector.build(model, cfg)
    try:
        with torch.no_grad():
            torch.export.export(module, tuple(inputs.values()), dynamic_shapes=(dynamic_shapes_for(cfg, plan.bounds),),
                                strict=False)
    except torch._dynamo.exc.UserError as e:   # constraint violations: the guards it needed
        return _first_guard(str(e), cfg)
    except Exception:   # any other failure is the export stage's to report, with its own message
        return None
    return None


def _first_guard(message: str, cfg: OnnxConfig) -> str:
    """The first guard of torch.export's constraint violation, with axis names ("(width % 4) == 0")."""
    lines = [line for line in message.splitlines() if "satisfy the generated guard" in line]
    if not lines:
        return first_line(RuntimeError(message))
    guard = lines[0].split("satisfy the generated guard", 1)[1].strip().rstrip(".")
    specs = list(cfg.inputs.values())

    def axis(match: re.Match[str]) -> str:
        arg, dim = int(match.group(1)), int(match.group(2))
        return specs[arg].get(dim, f"dim {dim}") if arg < len(specs) else f"dim {dim}"

    return re.sub(r"L\['args'\]\[(\d+)\]\.size\(\)\[(\d+)\]", axis, guard)[:200]


def fusable_attention_probe(model: Any, cfg: OnnxConfig, sizes: Mapping[str, int]) -> bool:
    """Whether the model's attention runs through ``AttentionInterface`` and the fusable form
    (additive mask, Div scaling) gives its outputs."""
    import torch
    from transformers import AttentionInterface

    from ...export.graph_form import additive_mask, attention_implementation, fusable_attention

    calls = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return fusable_attention(*args, **kwargs)

    inputs = cfg.generate_dummy_inputs("pt", **sizes)
    dtype = next(model.parameters()).dtype
    with torch.no_grad():
        expected = model(**inputs, return_dict=True)
        AttentionInterface.register(PROBE_KEY, counting)
        try:
            with attention_implementation(model, PROBE_KEY):
                mask = additive_mask(inputs["attention_mask"], dtype)
                got = model(**{**inputs, "attention_mask": mask}, return_dict=True)
        except Exception:   # the model builds its own mask from a 0/1 one: not fusable
            return False
        finally:
            AttentionInterface._global_mapping.pop(PROBE_KEY, None)
    name = next(iter(cfg.outputs))
    return bool(calls) and torch.allclose(expected[name], got[name], atol=1e-4, rtol=1e-3)


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200] if text else ''}".rstrip(": ")

