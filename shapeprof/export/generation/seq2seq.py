"""Greedy decoding of an encoder-decoder export, and the same through transformers' ``generate``.

The onnxruntime loop runs ``encoder_model.onnx`` once, then ``decoder_model.onnx`` once per
token from the decoder start token. With past, the first step gets empty caches and the
encoder output; later steps get the returned caches and an encoder output of length 0
(the cross-attention keys are already cached).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...layout import DECODER_FILE, ENCODER_FILE
from ...onnx.seq2seq import PAST_PREFIX, PRESENT_PREFIX, cache_heads
from .common import eos_ids, pad_id, prompts

Inputs = dict[str, np.ndarray]


class Seq2SeqGenerator:
    """Prompts, ``generate`` and the onnxruntime loop for one encoder-decoder export."""

    def __init__(self, model: Any, cfg: Any, out_dir: Path) -> None:
        import onnxruntime as ort

        self.model, self.cfg = model, cfg
        options = {"providers": ["CPUExecutionProvider"]}
        self.encoder = ort.InferenceSession(str(out_dir / ENCODER_FILE), **options)
        self.decoder = ort.InferenceSession(str(out_dir / DECODER_FILE), **options)
        self.speech = any(i.name in ("input_features", "input_values") for i in self.encoder.get_inputs())
        self.padding = "same length" if self.speech else "left-padded"

    # ---- prompts ----------------------------------------------------------------------------
    def prompts(self, lengths: Sequence[int], seed: int) -> Inputs:
        """Left-padded token prompts, or one spectrogram per prompt for speech models."""
        if not self.speech:
            ids, mask = prompts(lengths, self.cfg, seed)
            return {"input_ids": ids, "attention_mask": mask}
        encoder = self.cfg.get_encoder_onnx_config(self.cfg._config)
        return encoder.generate_dummy_inputs("np", batch_size=len(lengths), seed=seed,
                                             **encoder.default_axis_sizes())

    # ---- transformers -----------------------------------------------------------------------
    def torch(self, inputs: Inputs, new_tokens: int) -> np.ndarray:
        import torch
        from transformers import GenerationConfig, GenerationMixin

        config = self.model.config
        greedy = GenerationConfig(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                                  num_beams=1, pad_token_id=pad_id(config), eos_token_id=eos_ids(config),
                                  decoder_start_token_id=self.start_id, bos_token_id=getattr(config, "bos_token_id", None))
        tensors = {k: torch.from_numpy(v) for k, v in inputs.items()}
        with torch.no_grad(), no_forced_eos(self.model):
            # GenerationMixin's own generate: Whisper's override adds language and timestamp logic.
            out = GenerationMixin.generate(self.model, **tensors, generation_config=greedy)
        return out[:, 1:].numpy()     # drop the decoder start token

    @property
    def start_id(self) -> int:
        start = getattr(self.model.config, "decoder_start_token_id", None)
        return int(start if start is not None else pad_id(self.model.config))

    # ---- onnxruntime ------------------------------------------------------------------------
    def onnx(self, inputs: Inputs, new_tokens: int) -> np.ndarray:
        names = [i.name for i in self.decoder.get_inputs()]
        outputs = [o.name for o in self.decoder.get_outputs()]
        states = self.encoder.run(None, inputs)[0]
        batch = states.shape[0]
        step_ids = np.full((batch, 1), self.start_id, dtype=np.int64)
        past = self._empty_past(batch, names)
        eos, tokens = eos_ids(self.cfg._config), []
        for _ in range(new_tokens):
            feeds = {"input_ids": step_ids, "encoder_hidden_states": states, **past}
            if "encoder_attention_mask" in names:
                feeds["encoder_attention_mask"] = inputs["attention_mask"]
            result = dict(zip(outputs, self.decoder.run(None, feeds)))
            logits = result["logits"][:, -1, :].copy()
            logits[:, eos] = -np.inf
            token = logits.argmax(-1).astype(np.int64)[:, None]
            tokens.append(token)
            if past:
                past = {n.replace(PRESENT_PREFIX, PAST_PREFIX): v for n, v in result.items()
                        if n.startswith(PRESENT_PREFIX)}
                states, step_ids = states[:, :0], token
            else:
                step_ids = np.concatenate([step_ids, token], axis=1)
        return np.concatenate(tokens, axis=1)

    def _empty_past(self, batch: int, names: Sequence[str]) -> Inputs:
        heads, head_dim = cache_heads(self.cfg._normalized_config)
        return {n: np.zeros((batch, heads, 0, head_dim), dtype=np.float32)
                for n in names if n.startswith(PAST_PREFIX)}


@contextlib.contextmanager
def no_forced_eos(model: Any) -> Iterator[None]:
    """``generate`` without the checkpoint's forced EOS at the last step (FSMT, PEGASUS-X, BART
    checkpoints set ``forced_eos_token_id``; an unset value in the greedy config falls back to
    it): the onnxruntime loop suppresses EOS at every step, as ``min_new_tokens`` does."""
    config = getattr(model, "generation_config", None)
    forced = getattr(config, "forced_eos_token_id", None)
    if forced is None:
        yield
        return
    config.forced_eos_token_id = None
    try:
        yield
    finally:
        config.forced_eos_token_id = forced
