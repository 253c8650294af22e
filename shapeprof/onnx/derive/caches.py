"""A derived decoder's cache, read from real forward passes (see :mod:`shapeprof.onnx.derive`).

- ``read_cache``: layers, key/value heads and head sizes, sliding-window layers. Keys and values
  may differ in size (latent attention: DeepSeek's keys carry a rotary part its values lack) and
  layers may differ from each other: the shapes are then kept per layer (``layer_shapes``), and
  the registered decoders' names ``past_key_values.{i}.key`` / ``.value`` carry them.
- ``round_trip_failure``: flat past in, flat present out, through a ``DynamicCache``.

A model without one flat key/value pair per layer (recurrent or hybrid layers, no cache, a cache
class of its own) raises ``CacheError`` or gets a failure reason: its ``-with-past`` task then
falls back to the task without past (``fallback_note``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..text import TextDecoderOnnxConfig
from .probe import DeriveError, first_line, vocab_size

if TYPE_CHECKING:
    from ..base import OnnxConfig

Shapes = tuple[int, int, int, int]   # key heads, key head size, value heads, value head size


class CacheError(DeriveError):
    """The model's cache is not one flat key/value pair per layer (none, recurrent, hybrid)."""

    def __init__(self, model: Any, task: str, reason: str):
        super().__init__(model.config.model_type, task, "cache", reason, TextDecoderOnnxConfig.__name__)
        self.reason = reason


def fallback_note(task: str, reason: str) -> str:
    return f"{task} falls back to {task.removesuffix('-with-past')} (no past key/values): {reason}"


def read_cache(model: Any, task: str) -> dict[str, Any]:
    """Layers, key/value heads, head sizes and sliding-window layers of the model's own cache
    (JSON-ready). ``layer_shapes`` lists (key heads, key size, value heads, value size) per layer
    when keys and values or layers differ; ``key_value_heads`` / ``head_dim`` are layer 0's keys'."""
    out = _forward_with_cache(model, task)
    layers = getattr(getattr(out, "past_key_values", None), "layers", None)
    if not layers:
        kind = type(getattr(out, "past_key_values", None)).__name__
        raise CacheError(model, task, f"the model returns {kind}, not a per-layer key/value cache")
    shapes = [_layer_shapes(model, task, i, layer) for i, layer in enumerate(layers)]
    sliding = [i for i, layer in enumerate(layers) if getattr(layer, "is_sliding", False)]
    windows = {int(getattr(layers[i], "sliding_window", 0) or 0) for i in sliding}
    cache: dict[str, Any] = {"layers": len(layers), "key_value_heads": shapes[0][0], "head_dim": shapes[0][1],
                             "sliding_layers": sliding, "sliding_window": min(windows) if windows else None}
    if any(s != (shapes[0][:2] * 2) for s in shapes):
        cache["layer_shapes"] = [list(s) for s in shapes]
    return cache


def _forward_with_cache(model: Any, task: str) -> Any:
    """The ``use_cache=True`` forward pass; when only that fails (the model's cache cannot serve
    this configuration), a ``CacheError``: the model still runs without past."""
    import torch

    ids = torch.randint(3, max(4, vocab_size(model) or 4), (2, 5))
    mask = torch.ones_like(ids)
    try:
        with torch.no_grad():
            return model(input_ids=ids, attention_mask=mask, use_cache=True, return_dict=True)
    except Exception as e:
        error = e
    try:
        with torch.no_grad():
            model(input_ids=ids, attention_mask=mask, use_cache=False, return_dict=True)
    except Exception:   # the model fails without a cache too: that is the error to report
        raise DeriveError(model.config.model_type, task, "forward pass with use_cache=True", first_line(error),
                          TextDecoderOnnxConfig.__name__) from error
    raise CacheError(model, task, f"its forward pass with use_cache=True fails ({first_line(error)})") from error


def _layer_shapes(model: Any, task: str, i: int, layer: Any) -> Shapes:
    keys, values = getattr(layer, "keys", None), getattr(layer, "values", None)
    if not all(getattr(t, "dim", lambda: 0)() == 4 for t in (keys, values)):
        raise CacheError(model, task, f"layer {i} ({type(layer).__name__}) holds no key/value "
                         "tensors (a hybrid or recurrent layer)")
    extra = _extra_state(layer)
    if extra:   # ZAYA's convolution states, DeepSeek-V3.2's indexer keys: lost in a flat key/value past
        raise CacheError(model, task, f"layer {i} ({type(layer).__name__}) also holds {', '.join(extra)}, "
                         "which past key/values do not carry")
    return int(keys.shape[1]), int(keys.shape[3]), int(values.shape[1]), int(values.shape[3])


def _extra_state(layer: Any) -> list[str]:
    """Attributes of a cache layer holding state tensors besides its keys and values."""
    import torch

    names = []
    for name, value in vars(layer).items():
        items = value.values() if isinstance(value, dict) else (value,)
        if name not in ("keys", "values") and any(isinstance(v, torch.Tensor) and v.numel() > 1 for v in items):
            names.append(name)
    return names


def seq2seq_cache(out: Any) -> tuple[dict[str, int], int]:
    """An encoder-decoder forward pass's self-attention cache (layers, heads, head size) and the
    encoder's hidden size."""
    layers = out.past_key_values.self_attention_cache.layers
    keys = layers[0].keys
    return ({"layers": len(layers), "heads": int(keys.shape[1]), "head_dim": int(keys.shape[3])},
            int(out.encoder_last_hidden_state.shape[-1]))


def per_layer(cache: Mapping[str, Any]) -> tuple[tuple[tuple[int, int], tuple[int, int]], ...] | None:
    """``layer_shapes`` as the normalized config's ``cache_shapes``: ((key heads, size), (value heads,
    size)) per layer; None for one shape everywhere."""
    shapes = cache.get("layer_shapes")
    return tuple(((kh, kd), (vh, vd)) for kh, kd, vh, vd in shapes) if shapes else None


def round_trip_failure(model: Any, cfg: OnnxConfig, sizes: Mapping[str, int]) -> str | None:
    """None when flat past in gives flat present out, every tensor (batch, heads, past + new, size)
    as the dummy past; else why not (the model keeps state a ``DynamicCache`` does not hold)."""
    import torch

    from ..past import flat_from_cache

    inputs = cfg.generate_dummy_inputs("pt", **sizes)
    past = {n: tuple(v.shape) for n, v in inputs.items() if n.startswith("past_key_values.")}
    try:
        with torch.no_grad():
            out = model(**cfg.to_model_kwargs(dict(inputs)), return_dict=True)
        flat = flat_from_cache(out.past_key_values)
    except Exception as e:   # the model's own error with a DynamicCache of flat tensors
        return f"its forward pass with past key/values fails ({first_line(e)})"
    new = sizes["sequence_length"]
    want = [(b, h, n + new, d) for b, h, n, d in past.values()]
    got = [tuple(t.shape) for t in flat]
    if len(got) != len(want):
        return f"it returns {len(got)} present tensors for {len(want)} past ones"
    bad = [(g, w) for g, w in zip(got, want) if g != w]
    return f"a present tensor is {bad[0][0]}, not past + new tokens {bad[0][1]}" if bad else None
