"""What accuracy scoring returns: a task metric with its interval, and one score per variant."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Metric:
    """A task metric with its 95% percentile bootstrap interval over ``n`` rows."""

    name: str                    # "spearman x100", "accuracy", "f1", "token agreement", "perplexity", ...
    value: float
    low: float
    high: float
    n: int
    higher_is_better: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Metric:
        return cls(str(d["name"]), float(d["value"]), float(d["low"]), float(d["high"]), int(d["n"]),
                   bool(d.get("higher_is_better", True)))

    def format(self, digits: int = 2) -> str:
        """``86.70 [86.01, 87.35]``."""
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


@dataclass(frozen=True)
class VariantScore:
    """A variant's task metric, its drop from the reference (positive = worse) and its agreement."""

    variant: str                 # "onnx", "optimized", "int8", "static-int8", ...
    metric: Metric
    drop: Metric | None          # reference minus variant (paired bootstrap); None for the reference
    agreement: Metric | None     # classifiers: label agreement; generative: greedy-token agreement

    def to_dict(self) -> dict[str, Any]:
        return {"variant": self.variant, "metric": self.metric.to_dict(),
                "drop": None if self.drop is None else self.drop.to_dict(),
                "agreement": None if self.agreement is None else self.agreement.to_dict()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VariantScore:
        def opt(key: str) -> Metric | None:
            return None if d.get(key) is None else Metric.from_dict(d[key])

        return cls(str(d["variant"]), Metric.from_dict(d["metric"]), opt("drop"), opt("agreement"))
