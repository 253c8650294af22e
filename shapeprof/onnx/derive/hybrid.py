"""Linear-attention and state-space layers of hybrid decoders, exported without a token loop.

Gated DeltaNet (Qwen3-Next, Qwen3.5, OLMo-Hybrid, ...), Kimi delta attention (Kimi-Linear,
Bailing-Hybrid) and Mamba's selective scan (Mamba, Falcon-Mamba, Jamba) have no fused kernel on
CPU; transformers' PyTorch fallbacks loop in Python over chunks of 64 tokens, or over every token.
torch.export unrolls such a loop at the trace length, so the exported graph would only serve that
one sequence length.

While such a model is exported, its modeling module's scan functions are replaced:

- chunked rules (``torch_chunk_gated_delta_rule``, ``chunk_kimi_delta_attention``): the sequence is
  right-padded to ``SCAN_LENGTH`` tokens (neutral: no decay, zero update strength) before the
  model's own function runs, and its output cut back. The chunk loop then always runs
  ``SCAN_LENGTH / 64`` times, whatever the sequence length; padding after the last token changes
  no output (the rules are causal) nor the final state;
- ``mamba_selective_scan``: the same recurrence computed per chunk of ``SCAN_CHUNK`` tokens in
  parallel (decay products as exponentials of cumulative sums), the chunks in a loop of fixed count
  over the sequence padded to ``SCAN_LENGTH``.

The export's ``sequence_length`` is then bounded by ``SCAN_LENGTH`` (the derived class's maximum
sequence length). Only the traced graph changes: verification compares it with the unpatched model.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from typing import Any

CHUNKED_RULES = ("torch_chunk_gated_delta_rule", "chunk_kimi_delta_attention")
SELECTIVE_SCANS = ("mamba_selective_scan",)
SCAN_LENGTH = 256   # tokens: the longest sequence the exported graph takes
SCAN_CHUNK = 16     # tokens per parallel chunk of the selective scan


def scan_functions(model: Any) -> list[str]:
    """Names of the model's modeling-module functions that loop over the sequence (see module doc)."""
    module = sys.modules.get(type(model).__module__)
    return [name for name in CHUNKED_RULES + SELECTIVE_SCANS if callable(getattr(module, name, None))]


def scan_note(names: list[str]) -> str:
    return (f"{', '.join(names)} exported with a fixed number of chunks: sequence_length at most "
            f"{SCAN_LENGTH}")


@contextlib.contextmanager
def fixed_length_scans(model: Any) -> Iterator[None]:
    """Within the block, the model's scan functions run a loop of fixed count (see module doc)."""
    module = sys.modules[type(model).__module__]
    saved = {name: getattr(module, name) for name in scan_functions(model)}
    try:
        for name, original in saved.items():
            replacement = padded_rule(original) if name in CHUNKED_RULES else chunked_selective_scan
            setattr(module, name, replacement)
        yield
    finally:
        for name, original in saved.items():
            setattr(module, name, original)


@contextlib.contextmanager
def patch_with_fixed_scans(self: Any, model: Any) -> Iterator[Any]:
    """``patch_model_for_export`` of a derived decoder with linear-attention or state-space layers."""
    from ..text import TextDecoderOnnxConfig

    with fixed_length_scans(model), TextDecoderOnnxConfig.patch_model_for_export(self, model):
        yield model


def padded_rule(rule: Callable[..., Any]) -> Callable[..., Any]:
    """``rule`` on inputs right-padded to ``SCAN_LENGTH`` tokens, its output cut back."""
    import torch.nn.functional as F

    @functools.wraps(rule)
    def padded(query: Any, key: Any, value: Any, g: Any, beta: Any, *args: Any, **kwargs: Any) -> Any:
        length = query.shape[1]

        def pad(x: Any) -> Any:   # (batch, length, ...): pad axis 1 at the end
            return F.pad(x, (0, 0) * (x.dim() - 2) + (0, SCAN_LENGTH - length))

        out, state = rule(*(pad(x) for x in (query, key, value, g, beta)), *args, **kwargs)
        return out[:, :length], state

    return padded


def chunked_selective_scan(hidden_states: Any, dt: Any, A: Any, B: Any, C: Any, D: Any = None, z: Any = None,
                           delta_bias: Any = None, delta_softplus: bool = False, return_last_state: bool = False,
                           **kwargs: Any) -> Any:
    """Mamba's selective scan (same arguments and result as transformers' ``mamba_selective_scan``),
    in chunks of ``SCAN_CHUNK`` tokens computed in parallel, over the sequence padded to ``SCAN_LENGTH``."""
    import torch
    import torch.nn.functional as F

    batch, channels, length = hidden_states.shape
    if delta_bias is not None:
        dt = dt + delta_bias.to(dt.dtype)[..., None]
    if delta_softplus:
        dt = F.softplus(dt)
    pad = SCAN_LENGTH - length
    log_decay = F.pad(A[None, :, None, :] * dt[..., None], (0, 0, 0, pad))                # (b, d, P, n)
    update = F.pad((dt[..., None] * B.transpose(1, 2)[:, None].float()
                    * hidden_states[..., None].float()), (0, 0, 0, pad))                  # (b, d, P, n)
    C_padded = F.pad(C.float(), (0, pad))                                                 # (b, n, P)
    causal = torch.ones(SCAN_CHUNK, SCAN_CHUNK, dtype=torch.bool, device=dt.device).tril()
    state = torch.zeros(batch, channels, A.shape[-1], dtype=torch.float32, device=dt.device)
    outputs = []
    for start in range(0, SCAN_LENGTH, SCAN_CHUNK):
        states = _chunk_states(log_decay[:, :, start:start + SCAN_CHUNK], update[:, :, start:start + SCAN_CHUNK],
                               state, causal)                                             # (b, d, c, n)
        outputs.append(torch.einsum("bdcn,bnc->bdc", states, C_padded[:, :, start:start + SCAN_CHUNK]))
        state = states[:, :, -1]
    scan_output = torch.cat(outputs, dim=-1)[:, :, :length].to(hidden_states.dtype)
    if D is not None:
        scan_output = scan_output + hidden_states * D[None, :, None]
    if z is not None:
        scan_output = scan_output * F.silu(z)
    if return_last_state:   # the state after the last real token: padding neither decays nor adds
        return scan_output, state.to(hidden_states.dtype)
    return scan_output


def _chunk_states(log_decay: Any, update: Any, state: Any, causal: Any) -> Any:
    """States after each token of one chunk: h_t = sum_{s<=t} exp(L_t - L_s) u_s + exp(L_t) h_0,
    L the cumulative log decay within the chunk."""
    import torch

    cumulative = log_decay.cumsum(dim=2)                                                  # (b, d, c, n)
    pairwise = cumulative[:, :, :, None] - cumulative[:, :, None]                         # (b, d, t, s, n)
    weights = pairwise.masked_fill(~causal[:, :, None], float("-inf")).exp()
    inner = torch.einsum("bdtsn,bdsn->bdtn", weights, update)
    return inner + cumulative.exp() * state[:, :, None]


def scan_attrs(model: Any, normalized: type) -> dict[str, Any]:
    """Class attributes of a derived decoder whose layers scan the sequence: the export patch, and
    the normalized config with its longest sequence bounded by ``SCAN_LENGTH``; {} for other models."""
    if not scan_functions(model):
        return {}
    from .probe import PROBED

    limit = normalized(model.config).get("max_position_embeddings")
    length = min(int(limit), SCAN_LENGTH) if limit else SCAN_LENGTH
    bounded = type(normalized.__name__, (normalized,), {
        "ATTRIBUTES": {**normalized.ATTRIBUTES, "max_position_embeddings": PROBED},
        "DEFAULTS": {**normalized.DEFAULTS, "max_position_embeddings": length}, "__module__": __name__})
    return {"patch_model_for_export": patch_with_fixed_scans, "NORMALIZED_CONFIG_CLASS": bounded}
