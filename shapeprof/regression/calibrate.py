"""Calibrate the gate on this machine: A/A separate runs -> the spread between runs, thresholds.

Given N runs of one benchmark (same model, grid and settings, measured at different times),
every ordered pair of runs is an A/A comparison. From those:

- the A/A distribution of per-cell ratios (of the runs' median round values, as compare takes them);
- ``between_run_sd``: the sd of a run's log level beyond what its rounds' spread explains
  (variance of the run means minus the mean within-run variance of a mean), averaged over cells;
- a suggested ``regression_ratio``: the (1 - rate) quantile, over ordered pairs, of the largest
  cell ratio in the pair, so an unchanged build crosses it in about ``rate`` of the pairs
  (``warning_ratio`` half-way to it);
- the A/A false alarms of ``compare`` with the suggested thresholds (in sample).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CompareError
from .thresholds import Thresholds

MIN_RUNS = 3
MIN_ROUNDS = 3


@dataclass(frozen=True)
class Calibration:
    runs: int
    cells: tuple[str, ...]
    pair_ratios: tuple[float, ...]       # every ordered pair x cell: candidate / base
    pair_max: tuple[float, ...]          # per ordered pair: its largest cell ratio
    between_run_sd: float
    false_alarm_rate: float
    suggested: Thresholds
    false_alarms: int                    # ordered pairs compare calls a regression, suggested thresholds
    normalised: str = "cells divided by the reference workload per round"
    spread: dict[str, float] = dataclasses.field(default_factory=dict)   # run_level_sd: raw, reference

    def quantiles(self) -> dict[str, float]:
        x = np.asarray(self.pair_ratios)
        return {f"p{q}": float(np.percentile(x, q)) for q in (1, 5, 50, 95, 99)} | {
            "min": float(x.min()), "max": float(x.max())}

    def to_dict(self) -> dict[str, Any]:
        return {"runs": self.runs, "pairs": len(self.pair_max), "cells": list(self.cells),
                "aa_ratio_quantiles": self.quantiles(), "between_run_sd": self.between_run_sd,
                "run_level_sd": dict(self.spread),
                "false_alarm_rate": self.false_alarm_rate, "false_alarms": self.false_alarms,
                "thresholds": dataclasses.asdict(self.suggested)}


def calibrate(runs: Sequence[Mapping[str, Any]], rate: float, base: Thresholds | None = None,
              normalise: bool | None = None) -> Calibration:
    """The calibration of ``runs`` (``BenchResults.to_dict()`` form) at false-alarm ``rate``;
    ``normalise`` (default: as ``compare`` does) divides by the reference workload."""
    from .compare import current_reference

    normalise = current_reference(runs) if normalise is None else normalise
    if not 0.0 < rate < 0.5:
        raise CompareError(f"false-alarm rate must lie strictly between 0 and 0.5, got {rate}")
    if len(runs) < MIN_RUNS:
        raise CompareError(f"calibration needs at least {MIN_RUNS} runs of the benchmark, got {len(runs)}")
    tables, metric = _tables(runs)
    normalise = normalise and metric == "wall" and _has_reference(tables)
    logs = _logs(tables, metric, normalise)
    pairs = list(itertools.permutations(range(len(runs)), 2))
    ratios = np.array([[math.exp(float(np.median(v[j]) - np.median(v[i]))) for v in logs.values()]
                       for i, j in pairs])
    sd = between_run_sd(list(logs.values()))
    top = float(np.quantile(ratios.max(axis=1), 1.0 - rate, method="higher"))
    regression = math.ceil(max(top, 1.01) * 100) / 100
    t = dataclasses.replace(base or Thresholds(), regression_ratio=regression,
                            warning_ratio=round(1.0 + (regression - 1.0) / 2.0, 3),
                            between_run_sd=round(sd, 4))
    return Calibration(len(runs), tuple(logs), tuple(ratios.ravel().tolist()),
                       tuple(ratios.max(axis=1).tolist()), sd, rate, t,
                       _false_alarms(runs, pairs, t, normalise), _description(metric, normalise),
                       _spread(tables, metric))


def _has_reference(tables: Sequence[Mapping[tuple, Any]]) -> bool:
    """Every run timed the reference in the same rounds as its cells (as compare needs it)."""
    from .compare import _reference_rounds, _rounds

    return all(_reference_rounds(e, _rounds(e).size) is not None for t in tables for e in t.values())


def _spread(tables: Sequence[Mapping[tuple, Any]], metric: str) -> dict[str, float]:
    """The sd of a run's mean log level (within-run noise included), raw and divided by the
    reference: the smaller resolves smaller changes, so it says whether the reference helps."""
    out = {"raw": run_level_sd(list(_logs(tables, metric, False).values()))}
    if metric == "wall" and _has_reference(tables):
        out["reference"] = run_level_sd(list(_logs(tables, metric, True).values()))
    return out


def _description(metric: str, normalise: bool) -> str:
    if metric == "cpu":
        return "CPU time per call (one intra-op thread)"
    return "wall time divided by the reference workload per round" if normalise else "wall time"


def _tables(runs: Sequence[Mapping[str, Any]]) -> tuple[list[dict[tuple, dict[str, Any]]], str]:
    """Each run's cells by key, and the metric compare picks for them ("cpu" or "wall")."""
    from .compare import _cells, _metric

    tables = [_cells(run, ()) for run in runs]
    return tables, _metric("auto", [e for t in tables for e in t.values()])


def cell_logs(runs: Sequence[Mapping[str, Any]], normalise: bool = False) -> dict[str, list[np.ndarray]]:
    """Per cell label: each run's log round values as ``compare`` takes them for separate runs
    (lower quartiles; cells every run has, with enough rounds), divided by the run's reference
    workload per round when ``normalise`` and every run has it (runs without it stay raw)."""
    return _logs(*_tables(runs), normalise)


def _logs(tables: Sequence[Mapping[tuple, Any]], metric: str, normalise: bool) -> dict[str, list[np.ndarray]]:
    from .compare import SEPARATE_QUANTILE, _label, _reference_rounds, _rounds

    normalise = normalise and metric == "wall" and _has_reference(tables)
    out: dict[str, list[np.ndarray]] = {}
    for key in tables[0]:
        if all(key in t for t in tables):
            rounds = [_rounds(t[key], metric, SEPARATE_QUANTILE) for t in tables]
            if normalise:
                refs = [_reference_rounds(t[key], r.size) for t, r in zip(tables, rounds)]
                rounds = [r / ref for r, ref in zip(rounds, refs) if ref is not None]
            if min(r.size for r in rounds) >= MIN_ROUNDS:
                out[_label(tables[0][key])] = [np.log(r) for r in rounds]
    if not out:
        raise CompareError(f"no cell is in every run with at least {MIN_ROUNDS} rounds; calibrate "
                           "runs of one benchmark (same model, grid and settings, --rounds 3 or more)")
    return out


def between_run_sd(cells: Sequence[Sequence[np.ndarray]]) -> float:
    """sqrt of the mean over cells of var(run levels) - the within-run variance of a level, >= 0.
    A run's level is the median of its log round values (as ``compare`` takes it), whose
    within-run variance is pi/2 x the pooled robust round variance / rounds."""
    from .resolution import level_within_var, pooled_round_sd

    within_sd = pooled_round_sd([r for runs in cells for r in runs])
    parts = []
    for runs in cells:
        levels = np.array([np.median(r) for r in runs])
        within = np.mean([level_within_var(within_sd, r.size) for r in runs])
        parts.append(max(0.0, float(levels.var(ddof=1)) - float(within)))
    return math.sqrt(float(np.mean(parts)))


def run_level_sd(cells: Sequence[Sequence[np.ndarray]]) -> float:
    """sqrt of the mean over cells of the variance of the runs' log levels (median round value)."""
    return math.sqrt(float(np.mean([np.var([np.median(r) for r in runs], ddof=1) for runs in cells])))


def _false_alarms(runs: Sequence[Mapping[str, Any]], pairs: Sequence[tuple[int, int]], t: Thresholds,
                  normalise: bool) -> int:
    from .compare import compare_results
    from .stats import REGRESSION

    return sum(compare_results(runs[i], runs[j], thresholds=t, normalise=normalise).count(REGRESSION) > 0
               for i, j in pairs)


def thresholds_yaml(cal: Calibration, source: str) -> str:
    """The suggested thresholds in configs/thresholds.yaml's format, the evidence as comments."""
    q = cal.quantiles()
    t = dataclasses.asdict(cal.suggested)
    head = [f"# Calibrated by 'shapeprof calibrate' from {cal.runs} separate runs ({source}), "
            f"{cal.normalised}.",
            f"# A/A ratios over {len(cal.pair_max)} ordered pairs x {len(cal.cells)} cells: "
            + ", ".join(f"{k} {v:.3f}" for k, v in q.items()) + ".",
            f"# Chosen false-alarm rate {cal.false_alarm_rate:g} per pair: regression_ratio is that "
            "quantile of each pair's largest cell ratio;",
            f"# between_run_sd is the spread of a run's level beyond its rounds' ({cal.between_run_sd:.4f})."
            + _spread_note(cal),
            f"# compare with these thresholds on the same runs: {cal.false_alarms} of "
            f"{len(cal.pair_max)} A/A pairs flagged (in sample).",
            "thresholds:"]
    return "\n".join(head + [f"  {k}: {v}" for k, v in t.items()]) + "\n"


def _spread_note(cal: Calibration) -> str:
    """Raw against divided by the reference: whether the reference helps on this machine."""
    if "reference" not in cal.spread:
        return ""
    raw, ref = cal.spread["raw"], cal.spread["reference"]
    used = "reference" in cal.normalised
    verdict = "helps" if ref < raw else "does NOT help here"
    if (ref < raw) != used:
        verdict += (": calibrate and compare with --no-normalise" if used else
                    ": calibrate and compare with --normalise")
    return (f"\n# A run's mean level (log sd, all noise): raw {raw:.4f}, divided by the reference "
            f"{ref:.4f}: the reference {verdict}.")


def load_runs(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """Results files as mappings; an unreadable one is a one-line CompareError."""
    from ..bench.results import BenchResults
    from ..errors import BenchError

    out = []
    for path in paths:
        try:
            out.append(BenchResults.load(path).to_dict())
        except BenchError as e:
            raise CompareError(str(e).replace("bench error: ", "")) from e
    return out
