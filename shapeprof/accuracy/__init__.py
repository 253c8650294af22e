"""Accuracy of graph variants on a real task, with bootstrap intervals.

Embedding models: STS-B Spearman (x100) of the cosine of mean-pooled embeddings; classifiers:
accuracy or F1 on a labelled GLUE dev set plus label agreement with float32; generative models:
perplexity and greedy-token agreement with float32 on held-out text.
"""

from .bootstrap import METHOD
from .data import AccuracyData, load_accuracy_data
from .kind import model_kind
from .results import Metric, VariantScore
from .score import score_variants

__all__ = ["METHOD", "AccuracyData", "Metric", "VariantScore", "load_accuracy_data", "model_kind",
           "score_variants"]
