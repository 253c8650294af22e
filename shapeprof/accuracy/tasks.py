"""How each model kind turns a variant's outputs into per-row results and task statistics.

* embedding: attention-mask-weighted mean of ``last_hidden_state`` per sentence, the cosine of
  each pair, Spearman (x100) of the cosines against the gold scores;
* classifier: the argmax label per row (or the score of a one-output regression head),
  accuracy / F1 / Spearman against the gold labels, and the agreement with the reference's labels;
* generative: teacher-forced next-token log-likelihood per row (perplexity) and the greedy
  (argmax) next token at every position, compared with the reference's (token agreement).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..bench.model_dir import ModelDir
from ..errors import DataError
from . import metrics
from .bootstrap import Stat
from .data import AccuracyData
from .encode import Batch, encode, run_rows

LOGITS_BUDGET = 1 << 25      # generative: batch x length x vocab floats per batch (128 MiB)


class TaskScorer:
    """Encodes the rows once; scores any variant's session on them."""

    agreement_name: str | None = None

    def __init__(self, model: ModelDir, tokenizer: Any, data: AccuracyData, batch_size: int,
                 max_length: int) -> None:
        self.model, self.data = model, data
        self.metric_name = data.metric
        self.higher_is_better = data.metric != "perplexity"
        self.batches = self._encode(tokenizer, batch_size, max_length)

    def _encode(self, tokenizer: Any, batch_size: int, max_length: int) -> list[Batch]:
        return encode(tokenizer, self.data.texts.inputs(), max_length, batch_size)

    def outputs(self, session: Any) -> np.ndarray:
        raise NotImplementedError

    def metric(self, out: np.ndarray) -> Stat:
        raise NotImplementedError

    def agreement(self, reference: np.ndarray, out: np.ndarray) -> Stat | None:
        return None

    @property
    def gold(self) -> np.ndarray:
        if self.data.labels is None:
            raise DataError(f"accuracy data {self.data.name!r} has no labels; pass labelled rows")
        return self.data.labels

    def _output_name(self, preferred: str) -> str:
        return preferred if preferred in self.model.outputs else next(iter(self.model.outputs))


class EmbeddingScorer(TaskScorer):
    def _encode(self, tokenizer: Any, batch_size: int, max_length: int) -> list[Batch]:
        texts = self.data.texts
        return encode(tokenizer, texts.values[0] + texts.values[1], max_length, batch_size)

    def outputs(self, session: Any) -> np.ndarray:
        """Cosine similarity of each pair's mean-pooled embeddings."""
        name = self._output_name("last_hidden_state")
        n = len(self.data)
        pooled = run_rows(self.model, session, self.batches, _mean_pool(name), 2 * n, [name])
        a, b = pooled[:n], pooled[n:]
        return (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)

    def metric(self, out: np.ndarray) -> Stat:
        return metrics.spearman(out, self.gold)


def _mean_pool(name: str) -> Any:
    def reduce(got: dict[str, np.ndarray], batch: Batch) -> np.ndarray:
        hidden = got[name].astype(np.float64)
        mask = batch.feeds["attention_mask"][..., None].astype(np.float64)
        return (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
    return reduce


class ClassifierScorer(TaskScorer):
    agreement_name = "label agreement"

    def outputs(self, session: Any) -> np.ndarray:
        """The predicted label (argmax of the logits), or the score of a one-output head."""
        name = self._output_name("logits")

        def reduce(got: dict[str, np.ndarray], batch: Batch) -> np.ndarray:
            logits = got[name].reshape(len(batch.rows), -1).astype(np.float64)
            return logits[:, 0] if logits.shape[1] == 1 else logits.argmax(1).astype(np.float64)
        return run_rows(self.model, session, self.batches, reduce, len(self.data), [name])

    def metric(self, out: np.ndarray) -> Stat:
        gold = self.gold
        if self.metric_name == "spearman x100":
            return metrics.spearman(out, gold)
        if self.metric_name == "f1":
            return metrics.f1(out, gold)
        return metrics.accuracy(out, gold)

    def agreement(self, reference: np.ndarray, out: np.ndarray) -> Stat | None:
        if self.metric_name == "spearman x100":      # a regression head has no labels to agree on
            return None
        return metrics.accuracy(out, reference)


class GenerativeScorer(TaskScorer):
    """Per row: [total NLL, predicted tokens, greedy next token at each position (-1 padded)]."""

    agreement_name = "token agreement"

    def _encode(self, tokenizer: Any, batch_size: int, max_length: int) -> list[Batch]:
        texts = self.data.texts.values[0]
        budget = max(LOGITS_BUDGET // max(self.model.vocab_size, 1), 1)
        return encode(tokenizer, texts, max_length, batch_size, max_tokens=budget)

    def outputs(self, session: Any) -> np.ndarray:
        name = self._output_name("logits")
        width = max(int(b.lengths.max()) for b in self.batches)
        return run_rows(self.model, session, self.batches, _next_tokens(name, width), len(self.data), [name])

    def metric(self, out: np.ndarray) -> Stat:
        return metrics.perplexity(out[:, 0], out[:, 1])

    def agreement(self, reference: np.ndarray, out: np.ndarray) -> Stat | None:
        valid = reference[:, 2:] >= 0
        same = ((reference[:, 2:] == out[:, 2:]) & valid).sum(1)
        return metrics.ratio(same, valid.sum(1))


def _next_tokens(name: str, width: int) -> Any:
    def reduce(got: dict[str, np.ndarray], batch: Batch) -> np.ndarray:
        logits = got[name].astype(np.float64)
        ids = batch.feeds["input_ids"]
        out = np.full((len(batch.rows), 2 + width), -1.0)
        for i, k in enumerate(batch.lengths.tolist()):
            if k < 2:
                out[i, :2] = 0.0
                continue
            row = logits[i, :k - 1]
            logz = np.logaddexp.reduce(row, axis=1)
            out[i, 0] = float((logz - row[np.arange(k - 1), ids[i, 1:k]]).sum())
            out[i, 1] = k - 1
            out[i, 2:2 + k - 1] = row.argmax(1)
        return out
    return reduce


SCORERS: dict[str, type[TaskScorer]] = {"embedding": EmbeddingScorer, "classifier": ClassifierScorer,
                                        "generative": GenerativeScorer}
