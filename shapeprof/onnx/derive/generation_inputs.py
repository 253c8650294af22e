"""Whether greedy generation feeds a decoder only what its exported graph takes.

Generation parity runs the graph on the growing token sequence. A model whose
``prepare_inputs_for_generation`` builds other tensors for every step (XLNet appends a dummy
token and passes ``perm_mask`` and ``target_mapping``) generates differently from its plain
forward pass, so its graph could never reproduce ``generate``: derivation refuses it up front.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

GENERATION_TASKS = ("text-generation", "text-generation-with-past")
# Inputs every generation loop handles itself (the cache, its positions) or that are flags.
HANDLED = {"past_key_values", "cache_position", "position_ids", "use_cache", "logits_to_keep", "return_dict"}


def extra_generation_inputs(model: Any, given: Iterable[str]) -> list[str]:
    """Tensors ``prepare_inputs_for_generation`` adds beyond ``given`` (sorted), or [] when it adds
    none, changes nothing else, or cannot be asked."""
    import torch

    ids = torch.full((1, 4), 3, dtype=torch.long)
    try:
        prepared = model.prepare_inputs_for_generation(ids, attention_mask=torch.ones_like(ids))
    except Exception:   # the model's own preparation needs a cache or more: nothing to compare
        return []
    allowed = set(given) | HANDLED
    extra = sorted(k for k, v in prepared.items() if isinstance(v, torch.Tensor) and k not in allowed)
    new_ids = prepared.get("input_ids")
    if isinstance(new_ids, torch.Tensor) and tuple(new_ids.shape) != tuple(ids.shape):
        extra.insert(0, f"input_ids of shape {tuple(new_ids.shape)} for {tuple(ids.shape)} tokens")
    return extra
