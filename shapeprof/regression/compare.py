"""Match the cells of two benchmark runs by definition and test each pair.

Each cell is tested on its round medians (shapeprof.regression.stats): round by round when the
runs were interleaved (``paired``, CI mode), else as two separate runs with a between-run
component. Files without rounds fall back to the pooled test, and the report says so.

A cell's definition: model (type and task), variant, runtime, providers, threads,
batch size, sequence length, and the package versions. ``ignore`` leaves chosen parts
out of the match (e.g. ``threads`` to compare a 1-thread run with a 2-thread one).
Deterministic facts (input/output names and axes, op counts, verification status)
are compared exactly and gate on their own.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BenchError, CompareError
from .resolution import Noise, paired_noise, pooled_round_sd
from .stats import (NOT_COMPARABLE, NOT_RESOLVABLE, REGRESSION, RatioTest, paired_ratio_test, ratio_test,
                    separate_ratio_test)
from .thresholds import Thresholds

# Divide by the reference workload per round: off, since on the 2-core CI machine it made the
# between-run spread larger, not smaller (README, CI section); --normalise turns it on.
NORMALISE = False
# Separate runs reduce each round to this quantile of its samples: another process can only add
# time, so a lower quantile is the least disturbed estimate of the run's level (README, CI section).
SEPARATE_QUANTILE = 0.25
KEY_PARTS = ("model", "variant", "runtime", "providers", "threads", "batch", "length", "versions")
FACTS = ("inputs", "outputs", "op_counts", "verification_passed")


@dataclass(frozen=True)
class CellComparison:
    label: str                     # "onnx 32x24"
    group: str                     # geometric-mean group: model and variant
    weight: float                  # share of the data this cell stands for (1 when unknown)
    base_median_ms: float
    cand_median_ms: float
    test: RatioTest
    method: str = "pooled"         # paired | rounds | rounds/reference | pooled

    @property
    def verdict(self) -> str:
        return self.test.verdict

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "group": self.group, "weight": self.weight,
                "base_median_ms": self.base_median_ms, "cand_median_ms": self.cand_median_ms,
                "method": self.method, **self.test.to_dict()}


@dataclass(frozen=True)
class Comparison:
    cells: tuple[CellComparison, ...]
    only_in_base: tuple[str, ...]
    only_in_candidate: tuple[str, ...]
    fact_changes: tuple[str, ...]          # exact facts that differ
    failed_verification: tuple[str, ...]   # "base"/"candidate" whose export failed verification
    geomeans: dict[str, float] = field(default_factory=dict)
    weighted: bool = False
    thresholds: Thresholds = field(default_factory=Thresholds)
    ignored: tuple[str, ...] = ()
    timings_gate: bool = True              # False: timing verdicts are shown, not gated
    paired: bool = False                   # cells compared round by round (interleaved runs)
    metric: str = "wall"                   # wall | cpu: which time per call was compared
    overall_noise: Noise | None = None     # paired: the cells' mean log ratio, round by round

    def count(self, verdict: str) -> int:
        return sum(c.verdict == verdict for c in self.cells)

    @property
    def unresolved(self) -> tuple[CellComparison, ...]:
        return tuple(c for c in self.cells if c.verdict == NOT_RESOLVABLE)

    @property
    def overall_detectable(self) -> float:
        """Smallest uniform slowdown of every cell the geometric mean over cells could detect.
        Paired: from the per-round mean over cells of the log ratios (t, rounds - 1 df), which
        keeps the correlation between cells timed in the same round."""
        from .resolution import overall_detectable

        if self.overall_noise is not None:
            return self.overall_noise.detectable(self.thresholds.p_value, self.thresholds.power)
        tests = [c.test for c in self.cells if not math.isnan(c.test.se)]
        shared = 0.0 if self.paired else 2.0 * self.thresholds.between_run_sd ** 2
        return overall_detectable([x.se for x in tests], shared, self.thresholds, [x.df for x in tests])

    def to_dict(self) -> dict[str, Any]:
        """Plain data (per-cell dicts) for storing, e.g. in a history of runs."""
        return {"verdict": self.verdict, "gate_failed": self.gate_failed, "paired": self.paired,
                "metric": self.metric,
                "timings_gate": self.timings_gate, "cells": [c.to_dict() for c in self.cells],
                "overall_detectable": self.overall_detectable, "geomeans": dict(self.geomeans),
                "fact_changes": list(self.fact_changes),
                "failed_verification": list(self.failed_verification),
                "only_in_base": list(self.only_in_base), "only_in_candidate": list(self.only_in_candidate),
                "thresholds": dataclasses.asdict(self.thresholds)}

    @property
    def gate_failed(self) -> bool:
        """Exit status 1: a regression, a changed exact fact or a failed verification."""
        timing = self.timings_gate and self.count(REGRESSION)
        return bool(timing or self.fact_changes or self.failed_verification)

    @property
    def verdict(self) -> str:
        if self.fact_changes or self.failed_verification:
            return "FAIL (exact facts)"
        if self.count(REGRESSION):
            return "REGRESSION" if self.timings_gate else "PASS (timing regressions shown, not gated)"
        if self.count("warning"):
            return "PASS with warnings"
        if self.unresolved:
            return f"PASS ({len(self.unresolved)} of {len(self.cells)} cells not resolvable)"
        return "PASS"


def compare_files(base: str | Path, candidate: str | Path, ignore: Sequence[str] = (),
                  thresholds: Thresholds | None = None, timings_gate: bool = True,
                  normalise: bool = NORMALISE, metric: str = "auto") -> Comparison:
    from ..bench.results import BenchResults

    runs = []
    for which, path in (("base", base), ("candidate", candidate)):
        try:
            runs.append(BenchResults.load(path).to_dict())
        except BenchError as e:
            raise CompareError(f"{which} {e}".replace("bench error: ", "")) from e
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise CompareError(f"{which} results {str(path)!r} are malformed ({e!r}); "
                               "give a file written by 'shapeprof bench -o'") from e
    return compare_results(runs[0], runs[1], ignore, thresholds, timings_gate, normalise=normalise,
                           metric=metric)


def compare_results(base: Mapping[str, Any], candidate: Mapping[str, Any], ignore: Sequence[str] = (),
                    thresholds: Thresholds | None = None, timings_gate: bool = True,
                    paired: bool = False, normalise: bool = NORMALISE, metric: str = "auto"
                    ) -> Comparison:
    """Compare two results mappings (``BenchResults.to_dict()`` form).

    ``paired``: the runs were timed in interleaved rounds, round i of one next to round i of
    the other, so each cell is tested round by round (``paired_ratio_test``). Otherwise they
    are separate runs (``separate_ratio_test``); ``normalise`` divides each round median by
    the reference workload's in the same round, where both runs timed it (wall time only).
    ``metric``: "wall", "cpu" (the calling thread's CPU time per call, recorded with one
    intra-op thread) or "auto" (cpu when every matched cell has it on both sides, else wall).
    """
    t = thresholds or Thresholds()
    bad = [k for k in ignore if k not in KEY_PARTS]
    if bad:
        raise CompareError(f"cannot ignore {bad[0]!r}; choose from {', '.join(KEY_PARTS)}")
    base_cells, cand_cells = _cells(base, ignore), _cells(candidate, ignore)
    common = [k for k in base_cells if k in cand_cells]
    if not common:
        raise CompareError("no cell of the base matches a cell of the candidate; they measure "
                           "different models, grids or settings (see --ignore)")
    weights = _weights(base, [base_cells[k]["cell"] for k in common])
    metric = _metric(metric, [e for k in common for e in (base_cells[k], cand_cells[k])])
    how = "paired" if paired else "rounds/reference" if normalise and metric == "wall" else "rounds"
    within = _pooled_within([(base_cells[k], cand_cells[k]) for k in common], how, metric)
    compared = tuple(_compare_cell(base_cells[k], cand_cells[k], weights, t, how, metric, within)
                     for k in common)
    overall = _paired_overall([(base_cells[k], cand_cells[k]) for k in common], metric) if paired else None
    return Comparison(compared, _labels(base_cells, cand_cells), _labels(cand_cells, base_cells),
                      tuple(fact_changes(base, candidate)), tuple(_failed(base, candidate)),
                      geometric_means(compared), weights is not None, t, tuple(ignore), timings_gate,
                      paired, metric, overall)


def _paired_overall(pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]], metric: str
                    ) -> Noise | None:
    """The noise of the cells' mean log ratio, round by round; None unless every cell has the
    same number of rounds (at least 3) on both sides."""
    rounds = [(_rounds(b, metric), _rounds(c, metric)) for b, c in pairs]
    if len({n for rb, rc in rounds for n in (rb.size, rc.size)}) != 1 or rounds[0][0].size < 3:
        return None
    return paired_noise(np.mean([np.log(rc) - np.log(rb) for rb, rc in rounds], axis=0))


def _metric(asked: str, entries: Sequence[Mapping[str, Any]]) -> str:
    """The time to compare: "cpu" needs CPU samples aligned with the wall samples everywhere."""
    if asked not in ("auto", "wall", "cpu"):
        raise CompareError(f"unknown timing metric {asked!r}; choose auto, wall or cpu")
    has_cpu = all(len(e["cell"].get("cpu_samples_ms") or ()) == len(e["cell"]["samples_ms"]) > 0
                  for e in entries)
    if asked == "cpu" and not has_cpu:
        raise CompareError("--metric cpu needs CPU times in every matched cell of both runs; bench "
                           "with --threads 1 (results of schema 4 or later), or use --metric wall")
    return asked if asked != "auto" else "cpu" if has_cpu else "wall"


def _cells(run: Mapping[str, Any], ignore: Iterable[str]) -> dict[tuple, dict[str, Any]]:
    model = run.get("model") or {}
    settings = run.get("settings") or {}
    env = run.get("environment") or {}
    out = {}
    for cell in run.get("cells") or ():
        parts = {"model": (model.get("model_type"), model.get("task")), "variant": cell["variant"],
                 "runtime": cell["runtime"], "providers": tuple(settings.get("providers") or ()),
                 "threads": settings.get("intra_op_threads"), "batch": int(cell["batch_size"]),
                 "length": int(cell["sequence_length"]),
                 "versions": tuple(sorted((env.get("versions") or {}).items()))}
        if cell.get("phase"):   # generation runs: prefill and decode cells share batch x length
            parts.update(phase=cell["phase"], past=int(cell.get("past_length") or 0))
        key = tuple((k, v) for k, v in parts.items() if k not in ignore)
        out[key] = {"cell": cell, "model": model, "reference": run.get("reference")}
    return out


def cell_label(c: Mapping[str, Any]) -> str:
    """The cell without its variant: "8x64", "decode 1x1 past 16" (generation steps: decode
    cells share 1 token and differ by past)."""
    label = f"{c['batch_size']}x{c['sequence_length']}"
    if c.get("phase"):
        label = f"{c['phase']} {label}" + (f" past {c['past_length']}" if c.get("past_length") else "")
    return label


def _label(entry: Mapping[str, Any]) -> str:
    return f"{entry['cell']['variant']} {cell_label(entry['cell'])}"


def _labels(mine: Mapping[tuple, Any], other: Mapping[tuple, Any]) -> tuple[str, ...]:
    return tuple(_label(v) for k, v in mine.items() if k not in other)


def _compare_cell(base: Mapping[str, Any], cand: Mapping[str, Any], weights: Mapping[int, float] | None,
                  t: Thresholds, how: str, metric: str = "wall", within: float | None = None) -> CellComparison:
    b, c = _samples(base, metric), _samples(cand, metric)
    test, method = _test(base, cand, t, how, metric, within)
    model = base["model"]
    group = f"{model.get('model_type')} {model.get('task')} / {base['cell']['variant']}"
    weight = weights.get(int(base["cell"]["sequence_length"]), 0.0) if weights else 1.0
    return CellComparison(_label(base), group, weight, float(np.median(b)) if len(b) else math.nan,
                          float(np.median(c)) if len(c) else math.nan, test, method)


def _test(base: Mapping[str, Any], cand: Mapping[str, Any], t: Thresholds, how: str, metric: str,
          within: float | None = None) -> tuple[RatioTest, str]:
    """The cell's test and its method name (see the module doc)."""
    if how == "paired":
        return paired_ratio_test(_rounds(base, metric), _rounds(cand, metric), t), how
    rb, rc = _separate_rounds(base, cand, how, metric)
    if min(rb.size, rc.size) < 3:
        return ratio_test(_samples(base, metric), _samples(cand, metric), t), "pooled"
    return separate_ratio_test(rb, rc, t, within), how if _normalised(base, cand, how, rb, rc) else "rounds"


def _separate_rounds(base: Mapping[str, Any], cand: Mapping[str, Any], how: str, metric: str
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Each run's round values for a separate-runs test: lower quartiles, divided by the
    reference workload's in the same round when ``how`` asks for it and both runs timed it."""
    rb, rc = _rounds(base, metric, SEPARATE_QUANTILE), _rounds(cand, metric, SEPARATE_QUANTILE)
    if _normalised(base, cand, how, rb, rc):
        return rb / _reference_rounds(base, rb.size), rc / _reference_rounds(cand, rc.size)
    return rb, rc


def _normalised(base: Mapping[str, Any], cand: Mapping[str, Any], how: str, rb: np.ndarray,
                rc: np.ndarray) -> bool:
    return (how == "rounds/reference" and min(rb.size, rc.size) >= 3
            and _reference_rounds(base, rb.size) is not None and _reference_rounds(cand, rc.size) is not None)


def _pooled_within(pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]], how: str, metric: str
                   ) -> float | None:
    """Separate runs: one robust within-run scale over every matched cell of both runs."""
    if how == "paired":
        return None
    groups = [np.log(r) for b, c in pairs for r in _separate_rounds(b, c, how, metric) if r.size >= 3]
    return pooled_round_sd(groups) if groups else None


def _samples(entry: Mapping[str, Any], metric: str = "wall") -> Sequence[float]:
    cell = entry["cell"]
    return cell["cpu_samples_ms"] if metric == "cpu" else cell["samples_ms"]


def _rounds(entry: Mapping[str, Any], metric: str = "wall", quantile: float = 0.5) -> np.ndarray:
    """The cell's per-round block medians, or ``quantile`` (empty when it kept no rounds)."""
    from ..bench.paired import round_medians

    got = round_medians(_samples(entry, metric), entry["cell"].get("round_sizes") or (), quantile)
    return np.array([]) if got is None else got


def _reference_rounds(entry: Mapping[str, Any], rounds: int) -> np.ndarray | None:
    """The run's reference workload per round, when it was timed in the same rounds."""
    from ..bench.paired import round_medians

    ref = entry.get("reference")
    if not ref:
        return None
    got = round_medians(ref["samples_ms"], ref["round_sizes"])
    return got if got is not None and got.size == rounds else None


def _weights(run: Mapping[str, Any], cells: Sequence[Mapping[str, Any]]) -> dict[int, float] | None:
    """Share of the data's rows each measured length stands for (rows up to that length)."""
    profile = (run.get("settings") or {}).get("profile") or {}
    counts = profile.get("length_counts")
    if not counts:
        return None
    lengths = sorted({int(c["sequence_length"]) for c in cells})
    shares = dict.fromkeys(lengths, 0.0)
    for length, rows in counts.items():
        slot = next((m for m in lengths if m >= int(length)), lengths[-1])
        shares[slot] += float(rows)
    total = sum(shares.values()) or 1.0
    return {k: v / total for k, v in shares.items()}


def geometric_means(cells: Sequence[CellComparison]) -> dict[str, float]:
    """Weighted geometric mean of the median ratios per model and variant."""
    out = {}
    for group in dict.fromkeys(c.group for c in cells):
        pairs = [(c.test.ratio, c.weight) for c in cells
                 if c.group == group and c.verdict != NOT_COMPARABLE and c.weight > 0]
        total = sum(w for _, w in pairs)
        if total > 0:
            out[group] = math.exp(sum(w * math.log(r) for r, w in pairs) / total)
    return out


def fact_changes(base: Mapping[str, Any], candidate: Mapping[str, Any]) -> list[str]:
    """Exact facts of the exported model that differ between the runs."""
    b, c = base.get("model") or {}, candidate.get("model") or {}
    changes = []
    for fact in FACTS:
        if fact in b and fact in c and b[fact] != c[fact]:
            changes.append(f"{fact}: {_difference(b[fact], c[fact])}")
    return changes


def _difference(old: Any, new: Any) -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        return ", ".join(f"{k} {old.get(k, 'absent')} -> {new.get(k, 'absent')}" for k in keys)
    return f"{old} -> {new}"


def _failed(base: Mapping[str, Any], candidate: Mapping[str, Any]) -> list[str]:
    return [which for which, run in (("base", base), ("candidate", candidate))
            if (run.get("model") or {}).get("verification_passed") is False]
