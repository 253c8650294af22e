"""Match the cells of two benchmark runs (or run sets) by definition and test each pair.

Each cell is tested on its round medians (shapeprof.regression.stats): round by round when the
runs were interleaved (``paired``, CI mode), else as two separate runs with a between-run
component. Files without rounds fall back to the pooled test, and the report says so.

A side may be a run set: several separate runs of one benchmark (``regression.runsets``). The
cell's estimate is then the difference of the sides' mean run levels, and the between-run part
of its variance shrinks with the runs (``stats.set_ratio_test``); with at least 2 runs on both
sides the spread of the runs' levels is also estimated from the data, and the larger of it and
the calibrated ``between_run_sd`` is used.

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

from ..errors import CompareError
from .resolution import Noise, paired_noise, pooled_round_sd, set_between_sd
from .runsets import interleaved, load_run_set, run_set_paths
from .stats import (NAN, NOT_COMPARABLE, NOT_RESOLVABLE, REGRESSION, RatioTest, paired_ratio_test, ratio_test,
                    set_ratio_test)
from .thresholds import Thresholds

# Divide by the reference workload per round: by default (None) when every run timed the current
# reference (the encoder of shapeprof.bench.reference, named by its WORKLOAD), which cut the
# between-run spread on the 2-core CI machine to about a third. Earlier references (a GEMM chain)
# did not, so results that carry one are compared raw (README, CI section). True or False forces.
NORMALISE: bool | None = None
# Separate runs reduce each round to this quantile of its samples: another process can only add
# time, so a lower quantile is the least disturbed estimate of the run's level (README, CI section).
SEPARATE_QUANTILE = 0.25
KEY_PARTS = ("model", "variant", "runtime", "providers", "threads", "batch", "length", "versions")
FACTS = ("inputs", "outputs", "op_counts", "verification_passed")

Run = Mapping[str, Any]                       # one results mapping (BenchResults.to_dict() form)
Entry = Mapping[str, Any]                     # one cell of one run: {"cell", "model", "reference"}
Side = Sequence[Entry]                        # one cell's entries, one per run of a side


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
    runs: tuple[int, int] = (1, 1)         # runs a side: base, candidate (run sets)
    set_between_sd: float | None = None    # between-run sd the run sets show (>= 2 runs a side)

    @property
    def between_run_sd(self) -> float:
        """The between-run sd the tests used: the calibrated one, or the run sets' when larger."""
        return used_between_sd(self.thresholds, self.set_between_sd)

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
        shared = 0.0 if self.paired else self.between_run_sd ** 2 * sum(1.0 / n for n in self.runs)
        return overall_detectable([x.se for x in tests], shared, self.thresholds, [x.df for x in tests])

    def to_dict(self) -> dict[str, Any]:
        """Plain data (per-cell dicts) for storing, e.g. in a history of runs."""
        return {"verdict": self.verdict, "gate_failed": self.gate_failed, "paired": self.paired,
                "metric": self.metric, "runs": {"base": self.runs[0], "candidate": self.runs[1]},
                "between_run_sd": {"calibrated": self.thresholds.between_run_sd,
                                   "run_sets": self.set_between_sd, "used": self.between_run_sd},
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


def compare_files(base: str | Path | Sequence[str | Path], candidate: str | Path | Sequence[str | Path],
                  ignore: Sequence[str] = (), thresholds: Thresholds | None = None,
                  timings_gate: bool = True, normalise: bool | None = NORMALISE, metric: str = "auto"
                  ) -> Comparison:
    """Compare results files. Each side is a file, a directory of them or a comma list (see
    ``regression.runsets``), or a sequence of files: a run set of separate runs."""
    paths = [run_set_paths(x, which) if isinstance(x, (str, Path)) else [Path(p) for p in x]
             for which, x in (("base", base), ("candidate", candidate))]
    runs = [load_run_set(p, which) for which, p in zip(("base", "candidate"), paths)]
    return compare_results(runs[0], runs[1], ignore, thresholds, timings_gate, normalise=normalise,
                           metric=metric, names=[[str(p) for p in side] for side in paths])


def compare_results(base: Run | Sequence[Run], candidate: Run | Sequence[Run], ignore: Sequence[str] = (),
                    thresholds: Thresholds | None = None, timings_gate: bool = True,
                    paired: bool = False, normalise: bool | None = NORMALISE, metric: str = "auto",
                    names: Sequence[Sequence[str]] | None = None) -> Comparison:
    """Compare two results mappings (``BenchResults.to_dict()`` form), or two run sets (a list
    of such mappings a side: separate runs of one benchmark, see the module doc).

    ``paired``: the runs were timed in interleaved rounds, round i of one next to round i of
    the other, so each cell is tested round by round (``paired_ratio_test``; one run a side).
    Otherwise they are separate runs (``set_ratio_test``); ``normalise`` divides each round
    by the reference workload's in the same round, where every run timed it (wall time only;
    None: when every run timed the current reference, see ``NORMALISE``). ``metric``: "wall",
    "cpu" (the calling thread's CPU time per call, recorded with one intra-op thread) or "auto"
    (cpu when every matched cell has it on both sides, else wall).
    ``names``: the runs' names a side (file names), for errors.
    """
    t = thresholds or Thresholds()
    bad = [k for k in ignore if k not in KEY_PARTS]
    if bad:
        raise CompareError(f"cannot ignore {bad[0]!r}; choose from {', '.join(KEY_PARTS)}")
    sides = _run_lists(base, candidate)
    names = names or [[f"run {i + 1}" for i in range(len(runs))] for runs in sides]
    _check_separate(sides, names, paired)
    base_cells, cand_cells = (_set_cells(runs, ignore, which, n)
                              for runs, which, n in zip(sides, ("base", "candidate"), names))
    common = [k for k in base_cells if k in cand_cells]
    if not common:
        raise CompareError("no cell of the base matches a cell of the candidate; they measure "
                           "different models, grids or settings (see --ignore)")
    pairs = [(base_cells[k], cand_cells[k]) for k in common]
    weights = _weights(sides[0][0], [b[0]["cell"] for b, _ in pairs])
    metric = _metric(metric, [e for b, c in pairs for e in (*b, *c)])
    normalise = current_reference([r for runs in sides for r in runs]) if normalise is None else normalise
    how = "paired" if paired else "rounds/reference" if normalise and metric == "wall" else "rounds"
    within = _pooled_within(pairs, how, metric)
    spread = _set_spread(pairs, how, metric, within)
    between = used_between_sd(t, spread)
    compared = tuple(_compare_cell(b, c, weights, t, how, metric, within, between) for b, c in pairs)
    overall = _paired_overall([(b[0], c[0]) for b, c in pairs], metric) if paired else None
    first = (sides[0][0], sides[1][0])
    return Comparison(compared, _labels(base_cells, cand_cells), _labels(cand_cells, base_cells),
                      tuple(fact_changes(*first)), tuple(_failed(*first)),
                      geometric_means(compared), weights is not None, t, tuple(ignore), timings_gate,
                      paired, metric, overall, (len(sides[0]), len(sides[1])), spread)


def used_between_sd(t: Thresholds, spread: float | None) -> float:
    """The between-run sd to test with: the calibrated one, or the run sets' own when larger (a
    machine noisier than calibrated must not raise false alarms)."""
    return max(t.between_run_sd, spread or 0.0)


def _run_lists(base: Run | Sequence[Run], candidate: Run | Sequence[Run]) -> tuple[list[Run], list[Run]]:
    sides = tuple([x] if isinstance(x, Mapping) else list(x) for x in (base, candidate))
    for which, runs in zip(("base", "candidate"), sides):
        if not runs:
            raise CompareError(f"the {which} run set is empty; give at least one results file")
    return sides[0], sides[1]


def _check_separate(sides: Sequence[Sequence[Run]], names: Sequence[Sequence[str]], paired: bool) -> None:
    """Run sets (more than one run on a side) take separate runs: not paired, no CI files."""
    if len(sides[0]) + len(sides[1]) <= 2:
        return
    if paired:
        raise CompareError("a paired (interleaved) comparison takes one run a side, not run sets")
    for which, runs, labels in zip(("base", "candidate"), sides, names):
        found = [name for name, run in zip(labels, runs) if interleaved(run)]
        if found:
            raise CompareError(f"{which} {found[0]!r} was written by 'shapeprof ci' (its rounds "
                               "interleaved with another model's); run sets take separate "
                               "'shapeprof bench' runs: compare CI results one file a side")


def _set_cells(runs: Sequence[Run], ignore: Iterable[str], which: str, names: Sequence[str]
               ) -> dict[tuple, list[Entry]]:
    """Each cell's entries over the runs of a set, which must measure the same cells with the
    same exact facts (repeats of one benchmark)."""
    tables = [_cells(run, ignore) for run in runs]
    for name, run, table in zip(names[1:], runs[1:], tables[1:]):
        differs = (["the cells they measure"] if table.keys() != tables[0].keys() else []
                   ) + fact_changes(runs[0], run)
        if differs:
            raise CompareError(f"the {which} runs {names[0]!r} and {name!r} differ in {differs[0]}; a "
                               "run set repeats one benchmark: same model, grid and settings")
    return {k: [t[k] for t in tables] for k in tables[0]}


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


def _labels(mine: Mapping[tuple, Side], other: Mapping[tuple, Any]) -> tuple[str, ...]:
    return tuple(_label(v[0]) for k, v in mine.items() if k not in other)


def _compare_cell(base: Side, cand: Side, weights: Mapping[int, float] | None, t: Thresholds, how: str,
                  metric: str = "wall", within: float | None = None, between: float | None = None
                  ) -> CellComparison:
    b, c = ([s for e in side for s in _samples(e, metric)] for side in (base, cand))
    test, method = _test(base, cand, t, how, metric, within, between)
    model = base[0]["model"]
    group = f"{model.get('model_type')} {model.get('task')} / {base[0]['cell']['variant']}"
    weight = weights.get(int(base[0]["cell"]["sequence_length"]), 0.0) if weights else 1.0
    return CellComparison(_label(base[0]), group, weight, float(np.median(b)) if len(b) else math.nan,
                          float(np.median(c)) if len(c) else math.nan, test, method)


def _test(base: Side, cand: Side, t: Thresholds, how: str, metric: str, within: float | None = None,
          between: float | None = None) -> tuple[RatioTest, str]:
    """The cell's test and its method name (see the module doc); a run set whose runs lack 3
    rounds is not comparable (the pooled test serves one run a side only)."""
    if how == "paired":
        return paired_ratio_test(_rounds(base[0], metric), _rounds(cand[0], metric), t), how
    rounds = _separate_rounds([*base, *cand], how, metric)
    if min(r.size for r in rounds) < 3:
        if len(base) == len(cand) == 1:
            return ratio_test(_samples(base[0], metric), _samples(cand[0], metric), t), "pooled"
        return RatioTest(NAN, NAN, NAN, NAN, NOT_COMPARABLE), "rounds"
    test = set_ratio_test(rounds[:len(base)], rounds[len(base):], t, within, between)
    return test, how if _normalised([*base, *cand], how, rounds) else "rounds"


def _separate_rounds(entries: Sequence[Entry], how: str, metric: str) -> list[np.ndarray]:
    """Each run's round values for a separate-runs test: lower quartiles, divided by the
    reference workload's in the same round when ``how`` asks for it and every run timed it."""
    rounds = [_rounds(e, metric, SEPARATE_QUANTILE) for e in entries]
    if _normalised(entries, how, rounds):
        return [r / _reference_rounds(e, r.size) for e, r in zip(entries, rounds)]
    return rounds


def current_reference(runs: Sequence[Run]) -> bool:
    """Whether every run timed this shapeprof's reference workload (what ``NORMALISE`` None asks)."""
    from ..bench.reference import WORKLOAD

    return all((run.get("reference") or {}).get("workload") == WORKLOAD for run in runs)


def _normalised(entries: Sequence[Entry], how: str, rounds: Sequence[np.ndarray]) -> bool:
    return (how == "rounds/reference" and min(r.size for r in rounds) >= 3
            and all(_reference_rounds(e, r.size) is not None for e, r in zip(entries, rounds)))


def _pooled_within(pairs: Sequence[tuple[Side, Side]], how: str, metric: str) -> float | None:
    """Separate runs: one robust within-run scale over every matched cell of every run."""
    if how == "paired":
        return None
    groups = [np.log(r) for b, c in pairs for r in _separate_rounds([*b, *c], how, metric) if r.size >= 3]
    return pooled_round_sd(groups) if groups else None


def _set_spread(pairs: Sequence[tuple[Side, Side]], how: str, metric: str, within: float | None
                ) -> float | None:
    """The between-run sd the run sets show (``set_between_sd``, over every cell and both sides);
    None unless both sides have at least 2 runs (and the cells their rounds)."""
    if how == "paired" or within is None or min(len(pairs[0][0]), len(pairs[0][1])) < 2:
        return None
    groups = []
    for b, c in pairs:
        rounds = [np.log(r) for r in _separate_rounds([*b, *c], how, metric)]
        if min(r.size for r in rounds) >= 3:
            groups += [rounds[:len(b)], rounds[len(b):]]
    return set_between_sd(groups, within) if groups else None


def _samples(entry: Mapping[str, Any], metric: str = "wall") -> Sequence[float]:
    cell = entry["cell"]
    return cell["cpu_samples_ms"] if metric == "cpu" else cell["samples_ms"]


def _rounds(entry: Mapping[str, Any], metric: str = "wall", quantile: float = 0.5) -> np.ndarray:
    """The cell's per-round block medians, or ``quantile`` (empty when it kept no rounds)."""
    from ..bench.paired import round_medians

    got = round_medians(_samples(entry, metric), entry["cell"].get("round_sizes") or (), quantile)
    return np.array([]) if got is None else got


def _reference_rounds(entry: Mapping[str, Any], rounds: int) -> np.ndarray | None:
    """The run's reference workload per round (lower quartile, as the cells' separate-run
    statistic), when it was timed in the same rounds."""
    from ..bench.paired import round_medians

    ref = entry.get("reference")
    if not ref:
        return None
    got = round_medians(ref["samples_ms"], ref["round_sizes"], SEPARATE_QUANTILE)
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
