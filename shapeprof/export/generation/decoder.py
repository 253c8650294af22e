"""Greedy decoding of a decoder-only export (through its cache) and of its PyTorch model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...onnx.past import PAST_PREFIX, past_from_present, past_shape, position_ids
from .common import eos_ids, pad_id, prompts


class DecoderGenerator:
    """Greedy decoding of a decoder-only export and of its PyTorch model."""

    padding = "left-padded"

    def __init__(self, model: Any, cfg: Any, onnx_path: Any) -> None:
        import onnxruntime as ort

        self.model, self.cfg = model, cfg
        self.session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])

    def prompts(self, lengths: Sequence[int], seed: int) -> tuple[np.ndarray, np.ndarray]:
        return prompts(lengths, self.cfg, seed)

    def torch(self, inputs: tuple[np.ndarray, np.ndarray], new_tokens: int) -> np.ndarray:
        # An export without past recomputes the sequence each step: so does the reference (Dory's own
        # cached path gives other tokens after two steps, and fails on padded batches).
        return greedy_torch(self.model, *inputs, new_tokens, use_cache=bool(getattr(self.cfg, "use_past", True)))

    def onnx(self, inputs: tuple[np.ndarray, np.ndarray], new_tokens: int) -> np.ndarray:
        return greedy_onnx(self.session, self.cfg, *inputs, new_tokens)

def greedy_torch(model: Any, ids: np.ndarray, mask: np.ndarray, new_tokens: int, use_cache: bool = True) -> np.ndarray:
    import torch

    with torch.no_grad():
        out = model.generate(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                             max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                             pad_token_id=pad_id(model.config), use_cache=use_cache)
    return out[:, ids.shape[1]:].numpy()


def greedy_onnx(session: Any, cfg: Any, ids: np.ndarray, mask: np.ndarray, new_tokens: int) -> np.ndarray:
    """Greedy decoding with onnxruntime alone (through the cache when the export has one)."""
    names = [i.name for i in session.get_inputs()]
    outputs = [o.name for o in session.get_outputs()]
    eos = eos_ids(cfg._config)
    tokens, step_ids, past = [], ids, _empty_past(cfg, ids.shape[0], names)
    for _ in range(new_tokens):
        feeds = {"input_ids": step_ids, "attention_mask": mask, **past}
        if "position_ids" in names:
            feeds["position_ids"] = position_ids(mask, step_ids.shape[1])
        result = dict(zip(outputs, session.run(None, {k: v for k, v in feeds.items() if k in names})))
        logits = result["logits"][:, -1, :].copy()
        logits[:, eos] = -np.inf
        token = logits.argmax(-1).astype(np.int64)[:, None]
        tokens.append(token)
        mask = np.concatenate([mask, np.ones_like(token)], axis=1)
        if past:
            past = past_from_present(result)
            step_ids = token
        else:
            step_ids = np.concatenate([step_ids, token], axis=1)
    return np.concatenate(tokens, axis=1)


def _empty_past(cfg: Any, batch: int, names: Sequence[str]) -> dict[str, np.ndarray]:
    shapes = {n: past_shape(cfg._normalized_config, n) for n in names if n.startswith(PAST_PREFIX)}
    return {n: np.zeros((batch, heads, 0, size), dtype=np.float32) for n, (heads, size) in shapes.items()}
