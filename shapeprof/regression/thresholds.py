"""Verdict thresholds, from the packaged ``thresholds.yaml`` (beside this module) or a user
file, validated on load."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import CompareError

DEFAULT_FILE = Path(__file__).resolve().with_name("thresholds.yaml")   # package data, in every install


@dataclass(frozen=True)
class Thresholds:
    """When a median ratio (candidate / base) is a regression, a warning or an improvement."""

    regression_ratio: float = 1.10      # the slowdown the gate must catch (and resolve)
    warning_ratio: float = 1.05         # significant slowdowns from here on are reported
    p_value: float = 0.002              # two-sided significance of a change
    confidence: float = 0.95            # the ratio's interval
    bootstrap: int = 2000               # resamples (pooled test of files without rounds)
    min_samples: int = 5                # per side, else "not comparable" (pooled test)
    seed: int = 0
    power: float = 0.9                  # smallest detectable change: found this often
    between_run_sd: float = 0.015       # sd of a whole run's log level (separate runs; calibrate)

    def __post_init__(self) -> None:
        if not 1.0 < self.warning_ratio <= self.regression_ratio:
            raise CompareError(f"thresholds: need 1 < warning_ratio <= regression_ratio, got "
                               f"{self.warning_ratio} and {self.regression_ratio}")
        if not 0.0 < self.p_value < 1.0 or not 0.0 < self.confidence < 1.0:
            raise CompareError("thresholds: p_value and confidence must lie strictly between 0 and 1")
        if not 0.5 <= self.power < 1.0:
            raise CompareError(f"thresholds: power must lie in [0.5, 1), got {self.power}")
        if not 0.0 <= self.between_run_sd < 1.0:
            raise CompareError(f"thresholds: between_run_sd must lie in [0, 1), got {self.between_run_sd}")
        if self.bootstrap < 100 or self.min_samples < 2:
            raise CompareError("thresholds: bootstrap must be >= 100 and min_samples >= 2")


def thresholds_from_mapping(data: Any, where: str) -> Thresholds:
    """Build thresholds from a mapping; an unknown key or a wrong type names the key."""
    if not isinstance(data, dict):
        raise CompareError(f"{where}: thresholds must be a mapping of name: number")
    known = {f.name: f.type for f in fields(Thresholds)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise CompareError(f"{where}: unknown threshold {key!r}; known: {', '.join(known)}")
        kind = int if known[key] == "int" else float
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and
                                                                             not isinstance(value, int)):
            raise CompareError(f"{where}: threshold {key!r} must be {'an integer' if kind is int else 'a number'}, "
                               f"not {value!r}")
        if value != value or value in (float("inf"), float("-inf")):
            raise CompareError(f"{where}: threshold {key!r} must be a finite number, not {value!r}")
        values[key] = kind(value)
    return Thresholds(**values)


def load_thresholds(path: str | Path | None = None) -> Thresholds:
    """Thresholds from a YAML file (a ``thresholds:`` section or a bare mapping)."""
    import yaml

    path = Path(path) if path is not None else DEFAULT_FILE
    if not path.is_file():
        if path == DEFAULT_FILE:   # a broken install, not a user error: say so instead of guessing
            raise CompareError(f"the packaged thresholds {str(path)!r} are missing; reinstall shapeprof")
        raise CompareError(f"thresholds file {str(path)!r} not found; give a YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise CompareError(f"cannot read thresholds {str(path)!r}: {str(e).splitlines()[0]}") from e
    if isinstance(data, dict) and "thresholds" in data:
        data = data["thresholds"]
    return thresholds_from_mapping(data, str(path))
