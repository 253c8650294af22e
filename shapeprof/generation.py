"""Generation parity: greedy decoding driven by onnxruntime must give transformers' tokens.

Per-shape parity can hide a broken cache (wrong positions after step one, a mask that
ignores left padding). So a decoder export also generates ``NEW_TOKENS`` tokens greedily
through the exported model, feeding each step's ``present.*`` back as the next
``past_key_values.*``, at batch 1 and at batch 3 with left padding, and compares them
token for token with ``model.generate``. EOS is suppressed on both sides so random-weight
models generate the full length.

Encoder-decoders run ``encoder_model.onnx`` once and ``decoder_model.onnx`` per token, from
the decoder start token, feeding back both caches (see :mod:`shapeprof.onnx.seq2seq`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .onnx.past import PAST_PREFIX, kv_shape, position_ids

GENERATION_FILE = "generation.json"
NEW_TOKENS = 20
PROMPT_LENGTHS = ((7,), (7, 4, 2))     # batch 1; batch 3, left-padded to the longest


@dataclass(frozen=True)
class GenerationCheck:
    label: str
    batch_size: int
    new_tokens: int
    matching_tokens: int        # leading tokens equal in every row
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_generative(cfg: Any) -> bool:
    return cfg.task in ("text-generation", "text-generation-with-past") or is_seq2seq(cfg)


def is_seq2seq(cfg: Any) -> bool:
    return bool(getattr(cfg, "is_split", False))


def verify_generation(model: Any, cfg: Any, out_dir: Any, seed: int = 0) -> list[GenerationCheck]:
    """Greedy tokens through the export in ``out_dir`` vs ``generate``, per prompt batch."""
    from pathlib import Path

    if is_seq2seq(cfg):
        from .seq2seq_generation import Seq2SeqGenerator

        generator: Any = Seq2SeqGenerator(model, cfg, Path(out_dir))
    else:
        generator = DecoderGenerator(model, cfg, Path(out_dir) / "model.onnx")
    checks = []
    for lengths in PROMPT_LENGTHS:
        inputs = generator.prompts(lengths, seed)
        expected = generator.torch(inputs, NEW_TOKENS)
        got = generator.onnx(inputs, NEW_TOKENS)
        same = int(np.argmin(np.all(got == expected, axis=0).tolist() + [False]))
        label = "batch 1" if len(lengths) == 1 else f"batch {len(lengths)}, {generator.padding}"
        checks.append(GenerationCheck(label, len(lengths), NEW_TOKENS, same, same == NEW_TOKENS))
    return checks


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
        return greedy_torch(self.model, *inputs, new_tokens)

    def onnx(self, inputs: tuple[np.ndarray, np.ndarray], new_tokens: int) -> np.ndarray:
        return greedy_onnx(self.session, self.cfg, *inputs, new_tokens)


def prompts(lengths: Sequence[int], cfg: Any, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random prompts of the given lengths, left-padded with the pad id."""
    normalized = cfg._normalized_config
    vocab = int(normalized.vocab_size)
    rng = np.random.default_rng(seed)
    width = max(lengths)
    ids = np.full((len(lengths), width), pad_id(cfg._config), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, width - n:] = rng.integers(3, vocab, size=n)
        mask[row, width - n:] = 1
    return ids, mask


def greedy_torch(model: Any, ids: np.ndarray, mask: np.ndarray, new_tokens: int) -> np.ndarray:
    import torch

    with torch.no_grad():
        out = model.generate(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                             max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                             pad_token_id=pad_id(model.config))
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
            past = {n.replace("present.", PAST_PREFIX): v for n, v in result.items() if n.startswith("present.")}
            step_ids = token
        else:
            step_ids = np.concatenate([step_ids, token], axis=1)
    return np.concatenate(tokens, axis=1)


def _empty_past(cfg: Any, batch: int, names: Sequence[str]) -> dict[str, np.ndarray]:
    kv_heads, head_dim = kv_shape(cfg._normalized_config)
    return {n: np.zeros((batch, kv_heads, 0, head_dim), dtype=np.float32)
            for n in names if n.startswith(PAST_PREFIX)}


def eos_ids(config: Any) -> list[int]:
    eos = getattr(config, "eos_token_id", None)
    return [] if eos is None else list(eos) if isinstance(eos, (list, tuple)) else [int(eos)]


def pad_id(config: Any) -> int:
    pad = getattr(config, "pad_token_id", None)
    if pad is None:
        eos = eos_ids(config)
        pad = eos[0] if eos else 0
    return int(pad)


