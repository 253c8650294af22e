"""Linear-attention and state-space layers of hybrid decoders, exported for any sequence length.

Gated DeltaNet (Qwen3-Next, Qwen3.5, OLMo-Hybrid, Lara, ...) and Kimi delta attention (Kimi-Linear,
Bailing-Hybrid) have no fused kernel on CPU: transformers' PyTorch fallbacks loop in Python over
chunks of 64 tokens, as many chunks as the sequence needs. torch.export unrolls that loop at the
trace length, so the exported graph would serve that one length only.

While such a model is exported, its modeling module's chunked rule is replaced by one whose loops
have a fixed count: the sequence is right-padded to ``SCAN_LENGTH`` tokens (neutral values: no
decay, zero update strength; padding after the last token changes no output, the rules being
causal, nor the final state), the chunk loop then always runs ``SCAN_LENGTH / 64`` times, and the
output is cut back to the sequence length.

- ``torch_chunk_gated_delta_rule`` (Gated DeltaNet) and ``chunk_kimi_delta_attention`` (a decay
  per key dimension) are computed by ``gated_delta_rule`` and ``kimi_delta_rule``: the same
  algorithms, their unit-triangular systems inverted by blocks (log2(64) steps of batched matrix
  products) where transformers' export path loops over the 64 rows of a chunk (slow to trace);
- Mamba's ``mamba_selective_scan`` (Mamba, Falcon-Mamba, Jamba) and RecurrentGemma's ``_rnn_scan``
  loop over every token: ``chunked_selective_scan`` and ``linear_rnn_scan`` compute the same
  diagonal recurrences per chunk of ``SCAN_CHUNK`` tokens in parallel (products of decays as
  exponentials of cumulative log sums), the chunks in a loop of fixed count.
- MiniMax's lightning attention loops over blocks: its ``forward`` runs on inputs padded to whole
  blocks (``padded_block_forward``); RWKV's ``rwkv_linear_attention`` loops over every token: without
  a state it is computed for all positions at once (``parallel_wkv``).
- Mamba-2's ``mamba2_chunk_scan`` (Falcon-H1, Nemotron-H) is chunked already, but pads to whole
  chunks by an amount torch.export cannot bound: it runs on inputs padded to ``SCAN_LENGTH``
  (``padded_chunk_scan``).

The export's ``sequence_length`` is bounded by ``SCAN_LENGTH`` (the derived class's longest
sequence, recorded in ``DERIVATION["scan"]``). Only the traced graph changes: verification compares
it with the unpatched model.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
from collections.abc import Callable, Iterator
from typing import Any

CHUNKED_RULES = ("torch_chunk_gated_delta_rule", "chunk_kimi_delta_attention")
SELECTIVE_SCAN = "mamba_selective_scan"
RWKV_ATTENTION = "rwkv_linear_attention"
CHUNK_SCAN = "mamba2_chunk_scan"
SCAN_LENGTH = 256   # tokens: the longest sequence the exported graph takes
SCAN_CHUNK = 16     # tokens per chunk of a linear recurrence computed in parallel


def scan_functions(model: Any) -> list[str]:
    """Names of the model's functions that loop over the sequence (see module doc)."""
    return [f"{owner.__name__}.{name}" if isinstance(owner, type) else name for owner, name, _ in _replacements(model)]


def _replacements(model: Any) -> list[tuple[Any, str, Callable[..., Any]]]:
    """(owner, attribute, replacement) of every scan of the model (see module doc)."""
    module = sys.modules.get(type(model).__module__)
    found: list[tuple[Any, str, Callable[..., Any]]] = []
    for name in CHUNKED_RULES:
        original = getattr(module, name, None)
        if callable(original):
            found.append((module, name, gated_delta_rule if name == CHUNKED_RULES[0] else kimi_delta_rule))
    if callable(getattr(module, SELECTIVE_SCAN, None)):
        found.append((module, SELECTIVE_SCAN, chunked_selective_scan))
    if callable(original := getattr(module, CHUNK_SCAN, None)):
        found.append((module, CHUNK_SCAN, padded_chunk_scan(original)))
    if callable(original := getattr(module, RWKV_ATTENTION, None)):
        found.append((module, RWKV_ATTENTION, parallel_wkv(original)))
    blocked = {type(m) for m in model.modules() if isinstance(getattr(m, "block_size", None), int)
               and _is_lightning_attention(inspect.unwrap(type(m).forward))}
    found += [(cls, "forward", padded_block_forward(cls.forward)) for cls in sorted(blocked, key=lambda c: c.__name__)]
    scanning = {type(m) for m in model.modules() if callable(vars(type(m)).get("_rnn_scan"))}
    found += [(cls, "_rnn_scan", linear_rnn_scan) for cls in sorted(scanning, key=lambda c: c.__name__)]
    return found


def _is_lightning_attention(forward: Any) -> bool:
    """A forward looping over blocks of tokens with a decay rate per head (MiniMax's lightning attention)."""
    code = getattr(forward, "__code__", None)
    return code is not None and "num_blocks" in code.co_varnames and "slope_rate" in code.co_names


def scan_note(model: Any) -> str | None:
    """What ``DERIVATION["scan"]`` says; None for a model without scans."""
    names = scan_functions(model)
    return (f"{', '.join(names)} exported with loops of fixed count: sequence_length at most {SCAN_LENGTH}"
            if names else None)


@contextlib.contextmanager
def fixed_length_scans(model: Any) -> Iterator[None]:
    """Within the block, the model's scans run loops of fixed count (see module doc); restored on exit."""
    replacements = _replacements(model)
    saved = [(owner, name, vars(owner)[name] if isinstance(owner, type) else getattr(owner, name))
             for owner, name, _ in replacements]
    try:
        for owner, name, replacement in replacements:
            setattr(owner, name, replacement)
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


@contextlib.contextmanager
def patch_with_fixed_scans(self: Any, model: Any) -> Iterator[Any]:
    """``patch_model_for_export`` of a derived decoder with linear-attention or state-space layers."""
    from ..text import TextDecoderOnnxConfig

    with fixed_length_scans(model), TextDecoderOnnxConfig.patch_model_for_export(self, model):
        yield model


def padded_block_forward(forward: Callable[..., Any]) -> Callable[..., Any]:
    """A lightning-attention ``forward`` (MiniMax: a loop over blocks of ``block_size`` tokens) on
    hidden states and 2-D mask right-padded to a whole number of blocks covering ``SCAN_LENGTH``;
    outputs cut back. Its returned state then includes the padding: only the graph without past,
    which drops it, is exported this way."""
    import torch.nn.functional as F

    @functools.wraps(forward)
    def padded(self: Any, hidden_states: Any, position_embeddings: Any = None, attention_mask: Any = None,
               *args: Any, **kwargs: Any) -> Any:
        length = hidden_states.shape[1]
        pad = -(-SCAN_LENGTH // self.block_size) * self.block_size - length
        if attention_mask is not None and attention_mask.dim() == 2:
            attention_mask = F.pad(attention_mask, (0, pad))
        out, state = forward(self, F.pad(hidden_states, (0, 0, 0, pad)), position_embeddings, attention_mask,
                             *args, **kwargs)
        return out[:, :length], state

    return padded


def gated_delta_rule(query: Any, key: Any, value: Any, g: Any, beta: Any, chunk_size: int = 64,
                     initial_state: Any = None, output_final_state: bool = False,
                     use_qk_l2norm_in_kernel: bool = False, **kwargs: Any) -> tuple[Any, Any]:
    """transformers' ``torch_chunk_gated_delta_rule`` (same arguments and results) over the sequence
    padded to ``SCAN_LENGTH``, its unit-triangular systems inverted by blocks (``unit_lower_inverse``)
    instead of a Python loop over the 64 rows of a chunk."""
    import torch

    length, dtype = query.shape[1], query.dtype
    heads = value.shape[2]
    if key.shape[2] != heads:   # grouped value heads
        query, key = (x.repeat_interleave(heads // key.shape[2], dim=2) for x in (query, key))
    query, key, value, beta, g = _padded_heads_first(query, key, value, beta, g, use_qk_l2norm_in_kernel)
    chunks = SCAN_LENGTH // chunk_size
    query, key, value = (x.reshape(x.shape[0], heads, chunks, chunk_size, -1) for x in (query, key, value))
    beta, decay = (x.reshape(x.shape[0], heads, chunks, chunk_size) for x in (beta, g))
    k_beta, v_beta = key * beta[..., None], value * beta[..., None]
    cum = decay.cumsum(-1)
    upper = torch.ones(chunk_size, chunk_size, dtype=torch.bool, device=query.device).triu(1)
    pairwise = (cum[..., :, None] - cum[..., None, :]).masked_fill(upper, float("-inf")).exp()
    solve = unit_lower_inverse(-((k_beta @ key.transpose(-1, -2)) * pairwise).tril(-1))
    new_values, k_cumdecay = solve @ v_beta, solve @ (k_beta * cum.exp()[..., None])
    intra = (query @ key.transpose(-1, -2)) * pairwise
    query = query * cum.exp()[..., None]
    key = key * (cum[..., -1:] - cum).exp()[..., None]
    state = (torch.zeros(query.shape[0], heads, query.shape[-1], value.shape[-1], device=query.device)
             if initial_state is None else initial_state.float())
    outputs = []
    for i in range(chunks):
        v_new = new_values[:, :, i] - k_cumdecay[:, :, i] @ state
        outputs.append(query[:, :, i] @ state + intra[:, :, i] @ v_new)
        state = state * cum[:, :, i, -1].exp()[..., None, None] + key[:, :, i].transpose(-1, -2) @ v_new
    out = torch.cat(outputs, dim=2)[:, :, :length].transpose(1, 2).contiguous().to(dtype)
    return out, (state if output_final_state else None)


def kimi_delta_rule(query: Any, key: Any, value: Any, g: Any, beta: Any, chunk_size: int = 64,
                    initial_state: Any = None, output_final_state: bool = False,
                    use_qk_l2norm_in_kernel: bool = False, **kwargs: Any) -> tuple[Any, Any]:
    """transformers' ``chunk_kimi_delta_attention`` (a decay per key dimension; same arguments and
    results) over the sequence padded to ``SCAN_LENGTH``, its systems inverted by blocks."""
    import torch

    length, dtype = query.shape[1], query.dtype
    query, key, value, beta, g = _padded_heads_first(query, key, value, beta, g, use_qk_l2norm_in_kernel)
    chunks = SCAN_LENGTH // chunk_size
    k_beta, v_beta = key * beta[..., None], value * beta[..., None]
    query, key, value, g, k_beta, v_beta = (x.reshape(x.shape[0], x.shape[1], chunks, chunk_size, -1)
                                            for x in (query, key, value, g, k_beta, v_beta))
    g = g.cumsum(-2)
    upper = torch.ones(chunk_size, chunk_size, dtype=torch.bool, device=query.device).triu(1)
    decay = (g[..., :, None, :] - g[..., None, :, :]).masked_fill(upper[..., None], float("-inf")).exp()
    pairs = (k_beta[..., :, None, :] * key[..., None, :, :] * decay).sum(-1)
    solve = unit_lower_inverse(-pairs.tril(-1))
    value, k_cumdecay = solve @ v_beta, solve @ (k_beta * g.exp())
    intra = ((query[..., :, None, :] * key[..., None, :, :] * decay).sum(-1)).masked_fill(upper, 0)
    state = (torch.zeros(query.shape[0], query.shape[1], query.shape[-1], value.shape[-1], device=query.device)
             if initial_state is None else initial_state.float())
    outputs = []
    for i in range(chunks):
        v_new = value[:, :, i] - k_cumdecay[:, :, i] @ state
        outputs.append((query[:, :, i] * g[:, :, i].exp()) @ state + intra[:, :, i] @ v_new)
        last = g[:, :, i, -1:]
        decayed_keys = key[:, :, i] * (last - g[:, :, i]).exp()
        state = state * last.exp().transpose(-1, -2) + decayed_keys.transpose(-1, -2) @ v_new
    out = torch.cat(outputs, dim=2)[:, :, :length].transpose(1, 2).contiguous().to(dtype)
    return out, (state if output_final_state else None)


def unit_lower_inverse(strict: Any) -> Any:
    """(I - N)^-1 for strictly lower-triangular N, by blocks: the inverses of the diagonal blocks of
    size s give those of size 2s, [[A, 0], [C, B]]^-1 = [[A^-1, 0], [-B^-1 C A^-1, B^-1]] (as stable
    as forward substitution; log2(size) steps of batched products). The size must be a power of two."""
    import torch

    size, batch = strict.shape[-1], strict.shape[:-2]
    if size & (size - 1):
        raise ValueError(f"chunk size {size} is not a power of two")
    matrix = torch.eye(size, dtype=strict.dtype, device=strict.device) - strict
    inverse = torch.ones(*batch, size, 1, 1, dtype=strict.dtype, device=strict.device)   # unit diagonal
    block = 1
    while block < size:
        pairs = size // (2 * block)
        grid = matrix.reshape(*batch, pairs, 2, block, pairs, 2, block)[..., :, 1, :, :, 0, :]
        eye = torch.eye(pairs, dtype=strict.dtype, device=strict.device)[:, None, :, None]
        lower_left = (grid * eye).sum(-2)                                     # (..., pairs, block, block)
        upper, lower = inverse[..., 0::2, :, :], inverse[..., 1::2, :, :]
        top = torch.cat([upper, torch.zeros_like(upper)], dim=-1)
        bottom = torch.cat([-(lower @ lower_left @ upper), lower], dim=-1)
        inverse = torch.cat([top, bottom], dim=-2)
        block *= 2
    return inverse.reshape(*batch, size, size)


def linear_rnn_scan(self: Any, hidden_states: Any, recurrent_gate: Any, reset: Any, recurrent_states: Any,
                    acc_dtype: Any = None) -> tuple[Any, Any]:
    """RecurrentGemma's ``_rnn_scan`` (h_t = a_t h_(t-1) + x_t, a reset where ``reset``; same arguments
    and results) in chunks of ``SCAN_CHUNK`` tokens computed in parallel (products of a as exponentials
    of cumulative log sums), over the sequence padded to ``SCAN_LENGTH`` (a = 1, x = 0: the state stays)."""
    import torch
    import torch.nn.functional as F

    length, dtype = hidden_states.shape[1], hidden_states.dtype
    pad = (0, 0, 0, SCAN_LENGTH - length)
    reset = F.pad(reset.expand_as(recurrent_gate).float(), pad)
    log_a = F.pad(recurrent_gate.float().log(), pad) * (1 - reset)      # a reset is a separate segment
    inputs = F.pad(hidden_states.float(), pad)
    state = (torch.zeros_like(inputs[:, 0]) if recurrent_states is None else recurrent_states.float())
    causal = torch.ones(SCAN_CHUNK, SCAN_CHUNK, dtype=torch.bool, device=inputs.device).tril()[None, :, :, None]
    outputs = []
    for start in range(0, SCAN_LENGTH, SCAN_CHUNK):
        cumulative = log_a[:, start:start + SCAN_CHUNK].cumsum(1)                        # (b, c, w)
        resets = reset[:, start:start + SCAN_CHUNK].cumsum(1)                            # no reset in (s, t]
        same = causal & (resets[:, :, None] == resets[:, None])
        weights = (cumulative[:, :, None] - cumulative[:, None]).masked_fill(~same, float("-inf")).exp()
        states = torch.einsum("btsw,bsw->btw", weights, inputs[:, start:start + SCAN_CHUNK])
        states = states + (cumulative.exp() * (resets == 0)) * state[:, None]
        outputs.append(states)
        state = states[:, -1]
    return torch.cat(outputs, dim=1)[:, :length].to(dtype), state


def chunked_selective_scan(hidden_states: Any, dt: Any, A: Any, B: Any, C: Any, D: Any = None, z: Any = None,
                           delta_bias: Any = None, delta_softplus: bool = False, return_last_state: bool = False,
                           **kwargs: Any) -> Any:
    """Mamba's selective scan (same arguments and results as transformers' ``mamba_selective_scan``)
    in chunks of ``SCAN_CHUNK`` tokens computed in parallel, over the sequence padded to ``SCAN_LENGTH``
    (no decay, no input: the state stays)."""
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


def parallel_wkv(original: Callable[..., Any]) -> Callable[..., Any]:
    """RWKV's ``rwkv_linear_attention`` without a state (the graph without past): every token's
    weighted average of the values so far, all positions at once (exponents shifted by their
    maximum, as the token loop keeps them); with a state, ``original``."""
    import torch

    @functools.wraps(original)
    def wkv(time_decay: Any, time_first: Any, key: Any, value: Any, state: Any = None,
            return_state: bool = False) -> tuple[Any, Any]:
        if state is not None or return_state:
            return original(time_decay, time_first, key, value, state=state, return_state=return_state)
        positions = torch.arange(key.shape[1], device=key.device)
        lag = (positions[:, None] - 1 - positions[None, :]).float()                    # (t, s)
        keys = key.float()[:, None]                                                       # (b, 1, s, c)
        exponents = lag[None, :, :, None] * -torch.exp(time_decay.float()) + keys         # s < t: decayed
        exponents = torch.where((lag == -1)[None, :, :, None], keys + time_first.float(), exponents)
        exponents = exponents.masked_fill((lag < -1)[None, :, :, None], float("-inf"))   # s > t: future
        weights = (exponents - exponents.amax(dim=2, keepdim=True)).exp()
        out = (weights * value.float()[:, None]).sum(2) / weights.sum(2)
        return out.to(key.dtype), None

    return wkv


def padded_chunk_scan(original: Callable[..., Any]) -> Callable[..., Any]:
    """Mamba-2's ``mamba2_chunk_scan`` (already chunked, but padding to whole chunks by a symbolic
    amount) on inputs padded to whole chunks covering ``SCAN_LENGTH``: the time steps are discretized
    first, so the padding has a zero time step (no decay, no input) and the final state stays."""
    import torch
    import torch.nn.functional as F

    @functools.wraps(original)
    def scan(hidden_states: Any, dt: Any, A: Any, B: Any, C: Any, chunk_size: int, D: Any = None,
             dt_bias: Any = None, initial_states: Any = None, dt_softplus: bool = False,
             dt_limit: tuple[float, float] = (0.0, float("inf")), return_final_states: bool = False,
             **kwargs: Any) -> Any:
        length = hidden_states.shape[1]
        dt = dt + dt_bias.to(dt.dtype) if dt_bias is not None else dt
        dt = torch.clamp(F.softplus(dt) if dt_softplus else dt, min=dt_limit[0], max=dt_limit[1])
        pad = -(-SCAN_LENGTH // chunk_size) * chunk_size - length

        def padded(x: Any) -> Any:   # (batch, length, ...): pad axis 1 at the end
            return F.pad(x, (0, 0) * (x.dim() - 2) + (0, pad))

        result = original(padded(hidden_states), padded(dt), A, padded(B), padded(C), chunk_size, D=D,
                          initial_states=initial_states, return_final_states=return_final_states, **kwargs)
        if return_final_states:
            return result[0][:, :length], result[1]
        return result[:, :length]

    return scan


def scan_attrs(model: Any) -> dict[str, Any]:
    """Class attributes of a derived decoder whose layers scan the sequence: the export patch and
    ``sequence_length`` bounded by ``SCAN_LENGTH``; {} for other models."""
    if not scan_functions(model):
        return {}
    return {"patch_model_for_export": patch_with_fixed_scans, "axis_bounds": bounded_axis_bounds}


def bounded_axis_bounds(self: Any) -> dict[str, tuple[int, int | None]]:
    """``axis_bounds`` of a decoder with fixed-count scans: no sequence longer than ``SCAN_LENGTH``."""
    from ..text import TextDecoderOnnxConfig

    bounds = TextDecoderOnnxConfig.axis_bounds(self)
    low, high = bounds.get("sequence_length", (1, None))
    bounds["sequence_length"] = (low, SCAN_LENGTH if high is None else min(high, SCAN_LENGTH))
    return bounds


def _padded_heads_first(query: Any, key: Any, value: Any, beta: Any, g: Any, l2norm: bool) -> tuple[Any, ...]:
    """The delta rules' inputs heads first, in float32, the sequence padded to ``SCAN_LENGTH``;
    queries and keys L2-normalised when asked, queries scaled by 1/sqrt(size)."""
    import torch
    import torch.nn.functional as F

    pads = (0, 0, 0, SCAN_LENGTH - query.shape[1])   # the sequence axis, 2 of (batch, heads, length[, size])
    query, key, value, beta, g = (F.pad(x.transpose(1, 2).float(), pads[8 - 2 * x.dim():])
                                  for x in (query, key, value, beta, g))
    if l2norm:
        query, key = (x * torch.rsqrt((x * x).sum(-1, keepdim=True) + 1e-6) for x in (query, key))
    return query * query.shape[-1] ** -0.5, key, value, beta, g
