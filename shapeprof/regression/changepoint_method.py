"""The change-point detector's parameters and its name: their one set of defaults.

Importing this module is cheap (no numpy), so the CLI's parser takes its defaults from here;
the detector itself is shapeprof.regression.changepoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

NAME = "binary segmentation with Pettitt's rank statistic and a permutation p-value"


@dataclass(frozen=True)
class Method:
    """The detector's parameters."""

    alpha: float = 0.01          # significance of each split
    permutations: int = 999      # shuffles behind each p-value
    min_segment: int = 3         # commits on each side of a change, at least
    min_change: float = 0.05     # steps below 5% are not reported
    seed: int = 0

    name: ClassVar[str] = NAME

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1 or self.permutations < 99 or self.min_segment < 1 or self.min_change < 0:
            raise ValueError(f"bad change-point parameters: {self}")

    def describe(self) -> str:
        return (f"{self.name}: alpha {self.alpha:g}, {self.permutations} permutations (seed "
                f"{self.seed}), at least {self.min_segment} commits on each side, steps under "
                f"{self.min_change:.0%} dropped")
