"""Derivation per family: which level-2 class, which inputs, which attributes to measure.

Each family's ``derive(model, task)`` returns a subclass of its level-2 class (see
:mod:`shapeprof.onnx.derive`): the same graph form, input/output names and axis names as the
registered architectures of that family.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ..audio import AUDIO_LENGTH, AudioOnnxConfig, NormalizedAudioConfig
from ..base import OnnxConfig
from .generation_inputs import GENERATION_TASKS, extra_generation_inputs
from .probe import (TEXT_ORDER, DeriveError, check_required, config_value, dynamic_trace_guard, forward_params,
                     fusable_attention_probe, has_routed_experts,
                     normalized_class, position_offset, preprocessor_inputs, probe_output_axes, run, vocab_size,
                     first_line)
from .stochastic import random_outputs
from ..normalized import NormalizedTextConfig, NormalizedVisionConfig
from ..seq2seq import NormalizedSeq2SeqConfig
from ..text import EXPORTABLE_EXPERTS, TextDecoderOnnxConfig, TextEncoderOnnxConfig, TextSeq2SeqOnnxConfig
from ..vision import IMAGE_AXES, VisionOnnxConfig, image_size_of
from .batch import batch_guard
from .caches import CacheError, fallback_note, per_layer, read_cache, round_trip_failure, seq2seq_cache
from .rotary import complex_rotary, patch_with_real_rotary
from . import hybrid


class ProbedOutputs(OnnxConfig):
    """Output names from the level-2 class, their axes from the probe (see ``DERIVATION``)."""

    PROBED_OUTPUTS: ClassVar[dict[str, dict[int, str]]] = {}
    # What was probed: preprocessor, inputs, static output dims, cache, attention form. JSON-ready.
    DERIVATION: ClassVar[dict[str, Any]] = {}

    @property
    def outputs(self) -> dict[str, dict[int, str]]:
        spec = super().outputs
        return {name: dict(self.PROBED_OUTPUTS.get(name, axes)) for name, axes in spec.items()}


def make_class(base: type[OnnxConfig], model_type: str, tasks: tuple[str, ...], **attrs: Any) -> type[OnnxConfig]:
    """``Derived<Type>OnnxConfig``: a subclass of ``base`` carrying the derived class attributes."""
    name = "Derived" + "".join(p[:1].upper() + p[1:] for p in model_type.replace("-", "_").split("_")) + "OnnxConfig"
    body = {"__module__": "shapeprof.onnx.derive", "__qualname__": name, "MODEL_TYPE": model_type,
            "SUPPORTED_TASKS": tasks, "__doc__": f"{model_type!r} derived from the model ({base.__name__}).",
            **attrs}
    return type(name, (ProbedOutputs, base), body)


class Family:
    """One family of architectures; subclasses say how to derive it."""

    BASE: ClassVar[type[OnnxConfig]] = OnnxConfig

    @classmethod
    def extra_attrs(cls, model: Any, task: str) -> dict[str, Any]:
        """More class attributes of the draft, for subclasses (see :mod:`.towers`)."""
        return {}

    @classmethod
    def fail(cls, model: Any, task: str, part: str, reason: str) -> DeriveError:
        return DeriveError(model.config.model_type, task, part, reason, cls.BASE.__name__)

    @classmethod
    def probe(cls, model: Any, draft: type[OnnxConfig], task: str, base: Mapping[str, int],
              moved: Mapping[str, int], skip: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
        """Output axes of ``draft`` on ``model``; failures name the probe that failed."""
        cfg = draft(model.config, task=task)
        names = [n for n in cfg.outputs if not n.startswith(skip)] if skip else list(cfg.outputs)
        try:
            return probe_output_axes(model, cfg, base, moved, names)
        except KeyError as e:
            raise cls.fail(model, task, "outputs", f"the model returns no {e.args[0]!r} for this task") from e
        except Exception as e:  # the model's own error at a probe shape
            raise cls.fail(model, task, f"forward pass at {dict(base)} and moved {dict(moved)}",
                           first_line(e)) from e

    @classmethod
    def finish(cls, draft: type[OnnxConfig], task: str, axes: dict[str, Any], fixed: dict[str, Any],
               **derivation: Any) -> type[OnnxConfig]:
        record = {"family": cls.BASE.__name__, **derivation,
                  "static_output_dims": {n: {str(d): v for d, v in dims.items()} for n, dims in fixed.items() if dims}}
        return make_class(cls.BASE, draft.MODEL_TYPE, (task,), **_own_attrs(draft),
                          PROBED_OUTPUTS=axes, DERIVATION=record)


def _own_attrs(draft: type) -> dict[str, Any]:
    skip = {"__module__", "__qualname__", "__doc__", "MODEL_TYPE", "SUPPORTED_TASKS", "__dict__", "__weakref__"}
    return {k: v for k, v in vars(draft).items() if k not in skip}


def _inputs_from(names: tuple[str, ...], params: Mapping[str, bool], producible: tuple[str, ...]) -> list[str]:
    ordered = [n for n in TEXT_ORDER if n in names] + [n for n in names if n not in TEXT_ORDER]
    return [n for n in ordered if n in params and n in producible]


# ---- text encoders ---------------------------------------------------------------------------------

class Encoder(Family):
    BASE = TextEncoderOnnxConfig
    PRODUCIBLE = ("input_ids", "attention_mask", "token_type_ids")
    # Inputs of layout and multimodal encoders: exporting without them would drop part of the model.
    OTHER_MODALITY_INPUTS = ("bbox", "pixel_values", "image", "visual_embeds", "input_features")

    @classmethod
    def derive(cls, model: Any, task: str) -> type[OnnxConfig]:
        config = model.config
        preprocessor, names = preprocessor_inputs(config.model_type)
        params = forward_params(model)
        inputs = _inputs_from(names or ("input_ids", "attention_mask"), params, cls.PRODUCIBLE)
        if "input_ids" not in inputs:
            raise cls.fail(model, task, "inputs", f"forward takes no 'input_ids' from {preprocessor or 'a tokenizer'}")
        check_required(model, task, set(inputs), cls.BASE.__name__)
        other = [n for n in cls.OTHER_MODALITY_INPUTS if n in params]
        if other:
            raise cls.fail(model, task, "inputs", f"forward takes {other[0]!r} (layout or media), which "
                           f"{preprocessor or 'the tokenizer'} does not produce")
        values = {"vocab_size": vocab_size(model) or cls.id_range(model)}
        if values["vocab_size"] is None and getattr(config, "vocab_size", None) is None:
            raise cls.fail(model, task, "inputs", "no input embedding gives the range of its token ids (the model "
                           "hashes or embeds them its own way)")
        types = _embedding_rows(model, "token_type_embeddings")
        if "token_type_ids" in inputs and types is not None:
            values["type_vocab_size"] = types
        normalized = normalized_class(NormalizedTextConfig, config, {k: v for k, v in values.items() if v},
                                      optional={"max_position_embeddings": None})
        draft = make_class(cls.BASE, config.model_type, (), TEXT_INPUTS=tuple(inputs),
                           NORMALIZED_CONFIG_CLASS=normalized, POSITION_OFFSET=position_offset(model),
                           FUSABLE_ATTENTION=False, **cls.extra_attrs(model, task))
        base, moved = {"batch_size": 2, "sequence_length": 5}, {"batch_size": 3, "sequence_length": 7}
        if task == "multiple-choice":
            base, moved = {**base, "num_choices": 2}, {**moved, "num_choices": 3}
        axes, fixed = cls.probe(model, draft, task, base, moved)
        fusable = task != "multiple-choice" and fusable_attention_probe(model, draft(config, task=task), base)
        draft.FUSABLE_ATTENTION = fusable
        return cls.finish(draft, task, axes, fixed, preprocessor=preprocessor, inputs=inputs,
                          fusable_attention=fusable)

    @classmethod
    def id_range(cls, model: Any) -> int | None:
        """Token ids are below this when no input embedding says (subclasses: hashed ids)."""
        return None


def _embedding_rows(model: Any, suffix: str) -> int | None:
    for name, module in model.named_modules():
        if name.endswith(suffix) and hasattr(module, "num_embeddings"):
            return int(module.num_embeddings)
    return None


# ---- decoders: the cache is read from a real forward pass -------------------------------------------

class Decoder(Family):
    BASE = TextDecoderOnnxConfig

    @classmethod
    def derive(cls, model: Any, task: str) -> type[OnnxConfig]:
        """Probed with the experts implementation the export will trace (mixtures of experts)."""
        from ...export.graph_form import config_setting

        experts = EXPORTABLE_EXPERTS if has_routed_experts(model) else None
        if experts is None:
            return cls.derive_with(model, task, None)
        with config_setting(model, "_experts_implementation", experts):
            return cls.derive_with(model, task, experts)

    @classmethod
    def derive_with(cls, model: Any, task: str, experts: str | None) -> type[OnnxConfig]:
        config = model.config
        preprocessor, _ = preprocessor_inputs(config.model_type)
        params = forward_params(model)
        given = {"input_ids", "attention_mask", "position_ids"} & set(params)
        if "input_ids" not in given or "attention_mask" not in given:
            raise cls.fail(model, task, "inputs", "forward does not take both 'input_ids' and 'attention_mask'")
        check_required(model, task, given, cls.BASE.__name__)
        extra = extra_generation_inputs(model, given) if task in GENERATION_TASKS else []
        if extra:
            raise cls.fail(model, task, "generation", f"generate feeds the model {', '.join(extra)}, which a "
                           "graph of its forward pass on the tokens cannot reproduce")
        cache, fallback = cls.cache_or_fallback(model, task)
        rotary = {"patch_model_for_export": patch_with_real_rotary} if complex_rotary(model) else {}

        def draft_for(cache: Mapping[str, Any] | None) -> type[OnnxConfig]:
            return make_class(cls.BASE, config.model_type, (), NORMALIZED_CONFIG_CLASS=cls.normalized(model, cache),
                              USES_POSITION_IDS="position_ids" in given, EXPERTS_IMPLEMENTATION=experts, **rotary,
                              **hybrid.scan_attrs(model))

        draft = draft_for(cache)
        base, moved = {"batch_size": 2, "sequence_length": 5}, {"batch_size": 3, "sequence_length": 7}
        past_sizes = {"past_sequence_length": 3}
        with_past = cache is not None and task.endswith("-with-past")
        if with_past and (why := round_trip_failure(model, draft(config, task=task), {**base, **past_sizes})):
            cache, fallback, draft = None, fallback_note(task, why), draft_for(None)
        task = task.removesuffix("-with-past") if fallback else task
        if task.endswith("-with-past"):
            base, moved = {**base, **past_sizes}, {**moved, "past_sequence_length": 4}
        axes, fixed = cls.probe(model, draft, task, base, moved, skip=("present.",))
        extra = {"experts_implementation": experts, "fallback": fallback,
                 "rotary": "complex, exported as real (cos, sin) pairs" if rotary else None,
                 "scan": hybrid.scan_note(model)}
        return cls.finish(draft, task, axes, fixed, preprocessor=preprocessor, inputs=sorted(given), cache=cache,
                          **{k: v for k, v in extra.items() if v})

    @classmethod
    def cache_or_fallback(cls, model: Any, task: str) -> tuple[dict[str, Any] | None, str | None]:
        """(the model's cache, None); without a key/value cache, a -with-past task falls back to the
        same task without past: (None, the note saying so). Other tasks need no cache."""
        try:
            return read_cache(model, task), None
        except CacheError as e:
            return None, fallback_note(task, e.reason) if task.endswith("-with-past") else None

    @staticmethod
    def normalized(model: Any, cache: Mapping[str, Any] | None) -> type:
        """The normalized config: vocabulary, and the cache's layers, heads and head size."""
        config = model.config
        values: dict[str, Any] = {"vocab_size": vocab_size(model)}
        optional: dict[str, Any] = {"max_position_embeddings": None}
        if cache is not None:
            values.update({"num_layers": cache["layers"], "num_key_value_heads": cache["key_value_heads"],
                           **Decoder.head_dim(config, cache), "cache_shapes": per_layer(cache)})
            optional["num_attention_heads"] = cache["key_value_heads"]
            if cache["sliding_window"]:   # keep past + new within the window: the cache keeps every token
                values["max_position_embeddings"] = cache["sliding_window"] - 1
        return normalized_class(NormalizedTextConfig, config, {k: v for k, v in values.items() if v}, optional=optional)

    @staticmethod
    def head_dim(config: Any, cache: Mapping[str, Any]) -> dict[str, int]:
        """Measure head_dim only when hidden size / heads does not give it already."""
        hidden = next((v for a in ("hidden_size", "n_embd", "d_model") if (v := config_value(config, a))), None)
        heads = next((v for a in ("num_attention_heads", "n_head", "num_heads") if (v := config_value(config, a))), None)
        if hidden and heads and not config_value(config, "head_dim") and hidden // heads == cache["head_dim"]:
            return {}
        return {"head_dim": cache["head_dim"]}


# ---- encoder-decoders: split as the registered ones ------------------------------------------------

class Seq2Seq(Family):
    BASE = TextSeq2SeqOnnxConfig

    @classmethod
    def derive(cls, model: Any, task: str) -> type[OnnxConfig]:
        config = model.config
        preprocessor, _ = preprocessor_inputs(config.model_type)
        check_required(model, task, {"input_ids", "attention_mask", "decoder_input_ids"}, cls.BASE.__name__)
        cache, hidden = cls.cache(model, task)
        values = {"vocab_size": vocab_size(model), "decoder_num_layers": cache["layers"],
                  "num_attention_heads": cache["heads"], "hidden_size": hidden}
        if hidden // cache["heads"] != cache["head_dim"]:
            values["head_dim"] = cache["head_dim"]
        normalized = normalized_class(NormalizedSeq2SeqConfig, config, {k: v for k, v in values.items() if v},
                                      optional={"max_position_embeddings": None})
        draft = make_class(cls.BASE, config.model_type, (), NORMALIZED_CONFIG_CLASS=normalized)
        if draft(config, task=task).is_split:   # two graphs, the registered parts' names and axes
            return cls.finish(draft, task, {}, {}, preprocessor=preprocessor, cache=cache)
        base = {"batch_size": 2, "encoder_sequence_length": 6, "decoder_sequence_length": 3}
        moved = {"batch_size": 3, "encoder_sequence_length": 8, "decoder_sequence_length": 4}
        axes, fixed = cls.probe(model, draft, task, base, moved)
        return cls.finish(draft, task, axes, fixed, preprocessor=preprocessor, cache=cache)

    @classmethod
    def cache(cls, model: Any, task: str) -> tuple[dict[str, Any], int]:
        import torch

        ids = torch.randint(3, max(4, vocab_size(model) or 4), (2, 6))
        try:
            with torch.no_grad():
                mask = torch.ones_like(ids)   # the encoder first, as generate runs it (without use_cache)
                encoded = model.get_encoder()(input_ids=ids, attention_mask=mask, return_dict=True)
                out = model(encoder_outputs=encoded, attention_mask=mask, decoder_input_ids=ids[:, :3],
                            use_cache=True, return_dict=True)
            return seq2seq_cache(out)
        except Exception as e:
            raise cls.fail(model, task, "forward pass with use_cache=True", first_line(e)) from e


# ---- images and raw audio ---------------------------------------------------------------------------

class Vision(Family):
    BASE = VisionOnnxConfig

    @classmethod
    def pixel_draft(cls, model: Any, task: str, normalized_base: type, optional: dict[str, Any]
                    ) -> tuple[str | None, Any, type[OnnxConfig]]:
        """The image processor, the normalized config class and the draft config of a model whose
        input is ``pixel_values`` (shared by images and video)."""
        config = model.config
        preprocessor, names = preprocessor_inputs(config.model_type, "image")
        if names and "pixel_values" not in names:
            raise cls.fail(model, task, "inputs", f"{preprocessor} produces no 'pixel_values'")
        check_required(model, task, {"pixel_values", *cls.side_inputs(model)}, cls.BASE.__name__)
        normalized = normalized_class(normalized_base, config, {}, optional=optional)
        draft = make_class(cls.BASE, config.model_type, (), NORMALIZED_CONFIG_CLASS=normalized,
                           **cls.extra_attrs(model, task))
        return preprocessor, normalized, draft

    @classmethod
    def side_inputs(cls, model: Any) -> tuple[str, ...]:
        """Inputs besides ``pixel_values`` the draft generates (subclasses: prompt images)."""
        return ()

    @classmethod
    def derive(cls, model: Any, task: str) -> type[OnnxConfig]:
        config = model.config
        preprocessor, normalized, draft = cls.pixel_draft(model, task, NormalizedVisionConfig,
                                                          {"image_size": None, "num_channels": None})
        height, width = image_size_of(normalized(config))
        base = {"batch_size": 2, "height": height, "width": width}
        moved = {"batch_size": 3, "height": height + 16, "width": width + 32}
        why_static = cls.why_static(model, draft, task, {**moved, "batch_size": base["batch_size"]})
        if why_static:
            draft.STATIC_AXES = IMAGE_AXES
            moved = {"batch_size": 3}
            if batch := batch_guard(model, draft, task):   # the batch unrolled (Pixtral): static too
                draft.STATIC_AXES, moved, why_static = (*IMAGE_AXES, "batch_size"), {}, f"{why_static}; batch: {batch}"
        axes, fixed = cls.probe(model, draft, task, base, moved)
        if random_outputs(model, draft(config, task=task), base):
            raise cls.fail(model, task, "outputs", "two forward passes on the same pixels differ (the model "
                           "samples in forward, e.g. random patch masking); pass its noise as an input")
        return cls.finish(draft, task, axes, fixed, preprocessor=preprocessor, inputs=["pixel_values"],
                          static_axes=list(draft.STATIC_AXES), **({"static_because": why_static} if why_static else {}))

    @classmethod
    def why_static(cls, model: Any, draft: type[OnnxConfig], task: str, moved: Mapping[str, int]) -> str | None:
        """Why the image sides must be static, or None: the model fails at other sizes, or
        torch.export keeps them dynamic only under a guard (a multiple of the total stride, ...)."""
        if not cls.runs_at(model, draft, task, moved):
            return f"the model does not run at {moved['height']}x{moved['width']}"
        guard = dynamic_trace_guard(model, draft(model.config, task=task))
        return f"torch.export keeps the sides dynamic only where {guard}" if guard else None

    @staticmethod
    def runs_at(model: Any, draft: type[OnnxConfig], task: str, sizes: Mapping[str, int]) -> bool:
        try:
            run(model, draft(model.config, task=task), sizes)
            return True
        except Exception:   # position embeddings of a fixed size: the image axes are static
            return False


class Audio(Family):
    BASE = AudioOnnxConfig

    @classmethod
    def derive(cls, model: Any, task: str) -> type[OnnxConfig]:
        config = model.config
        preprocessor, names = preprocessor_inputs(config.model_type, "audio")
        if names and "input_values" not in names:
            raise cls.fail(model, task, "inputs", f"{preprocessor} produces no 'input_values'")
        check_required(model, task, {"input_values"}, cls.BASE.__name__)
        normalized = normalized_class(NormalizedAudioConfig, config, {},
                                      optional={"conv_kernel": None, "conv_stride": None})
        from .audio_channels import with_channels   # (batch, channels, samples) waveforms (OmniASR)
        draft = with_channels(model, make_class(cls.BASE, config.model_type, (), NORMALIZED_CONFIG_CLASS=normalized),
                              task)
        return cls.finish_waveform(model, draft, task, max(400, 2 * draft(config, task=task).min_audio_length()))

    @classmethod
    def finish_waveform(cls, model: Any, draft: type[OnnxConfig], task: str, length: int,
                        **derivation: Any) -> type[OnnxConfig]:
        """Probe the waveform draft at 2 clips of ``length`` samples and 3 of twice that; finish it."""
        axes, fixed = cls.probe(model, draft, task, {"batch_size": 2, AUDIO_LENGTH: length},
                                {"batch_size": 3, AUDIO_LENGTH: 2 * length})
        preprocessor, _ = preprocessor_inputs(model.config.model_type, "audio")
        return cls.finish(draft, task, axes, fixed, preprocessor=preprocessor, inputs=["input_values"], **derivation)
