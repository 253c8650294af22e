"""The comparison as markdown: verdict line, table sorted by ratio, quiet rows folded away."""

from __future__ import annotations

import math

from .compare import CellComparison, Comparison
from .stats import IMPROVEMENT, NOISE, NOT_COMPARABLE, NOT_RESOLVABLE, REGRESSION, SAME, WARNING

SHOWN = (REGRESSION, WARNING, IMPROVEMENT, NOT_RESOLVABLE)
VERDICTS = (*SHOWN, NOISE, SAME, NOT_COMPARABLE)


def markdown_report(cmp: Comparison, base: str = "base", candidate: str = "candidate") -> str:
    counts = ", ".join(f"{cmp.count(v)} {v}" for v in VERDICTS if cmp.count(v))
    lines = [f"## shapeprof compare: {cmp.verdict}", "", *resolution_lines(cmp),
             f"`{candidate}`{_runs(cmp, 1)} vs `{base}`{_runs(cmp, 0)}: {len(cmp.cells)} matched cells "
             f"({counts}).", ""]
    lines += _facts(cmp)
    ranked = sorted(cmp.cells, key=lambda c: -_sortable(c.test.ratio))
    loud = [c for c in ranked if c.verdict in SHOWN]
    quiet = [c for c in ranked if c.verdict not in SHOWN]
    if loud:
        lines += _table(loud) + [""]
    if quiet:
        lines += [f"<details><summary>{len(quiet)} cells without a significant change</summary>", ""]
        lines += _table(quiet) + ["", "</details>", ""]
    lines += _geomeans(cmp)
    lines += ["### Details", "", _metric(cmp), _method(cmp), _rules(cmp),
              f"- cells matched on: model, variant, runtime, providers, threads, batch, length, "
              f"versions{'; ignored: ' + ', '.join(cmp.ignored) if cmp.ignored else ''}."]
    for which, labels in (("base", cmp.only_in_base), ("candidate", cmp.only_in_candidate)):
        if labels:
            lines.append(f"- only in the {which} (not compared): {', '.join(labels)}")
    return "\n".join(lines) + "\n"


def resolution_lines(cmp: Comparison) -> list[str]:
    """What the data can resolve, for the top of the report: the smallest detectable change
    overall, and the cells that cannot resolve the threshold (never gated) with the rounds
    and, for separate runs, the runs a side that would resolve them."""
    t = cmp.thresholds
    overall = cmp.overall_detectable
    lines = []
    if overall == overall:
        lines.append(f"Smallest detectable slowdown ({t.power:.0%} of the time at p < {t.p_value:g}): "
                     f"{overall:.3f}x over all cells (geometric mean); per cell in the tables.")
    unresolved = cmp.unresolved
    if unresolved:
        worst = max(c.test.detectable for c in unresolved)
        needed = [c.test.rounds_needed for c in unresolved]
        runs = _runs_needed(unresolved)
        more = (f"about {max(n for n in needed if n is not None)} rounds per run would resolve "
                f"them{', or ' + runs if runs else ''}" if None not in needed else
                "more rounds cannot resolve all of them: the drift between runs alone exceeds the "
                f"threshold; {runs + f' would resolve {t.regression_ratio:g}x, or ' if runs else ''}"
                "compare interleaved runs (shapeprof ci)")
        lines.append(f"**Timings not resolvable**: {len(unresolved)} of {len(cmp.cells)} cells cannot "
                     f"resolve the {t.regression_ratio:g}x threshold (smallest detectable change up to "
                     f"{worst:.2f}x), so they are neither regression nor same and do not gate; "
                     f"{more}.")
    return lines + ([""] if lines else [])


def _runs_needed(cells: tuple[CellComparison, ...]) -> str:
    """"K runs a side (at these rounds)": the separate runs that would resolve every one of
    ``cells``; "" when that does not apply (paired runs) or no number up to MAX_RUNS would."""
    needed = [c.test.runs_needed for c in cells]
    if not needed or None in needed:
        return ""
    return f"{max(n for n in needed if n is not None)} runs a side (at these rounds)"


def _runs(cmp: Comparison, side: int) -> str:
    """" (3 runs)" after a side's name when either side is a run set of several runs."""
    return f" ({cmp.runs[side]} run{'s' if cmp.runs[side] > 1 else ''})" if max(cmp.runs) > 1 else ""


def _metric(cmp: Comparison) -> str:
    if cmp.metric == "cpu":
        return ("- time per call: the calling thread's CPU time (onnxruntime with one intra-op thread "
                "computes there), which time spent preempted by other processes does not inflate; "
                "medians in ms of CPU time; wall times are in the results files.")
    return "- time per call: wall clock (time.perf_counter)."


def _method(cmp: Comparison) -> str:
    t = cmp.thresholds
    methods = {c.method for c in cmp.cells}
    if cmp.paired:
        return ("- ratio = geometric mean over rounds of median(candidate) / median(base) within the "
                f"round (the two ran back to back); {t.confidence:.0%} t interval; p: t test on the "
                "log ratios, two-sided.")
    lines = []
    if methods - {"pooled"} and max(cmp.runs) > 1:
        lines.append(_run_set_method(cmp))
    elif methods - {"pooled"}:
        text = (f"- ratio = median(candidate) / median(base) of the round values (each round's lower "
                f"quartile: other processes only add time); {t.confidence:.0%} interval and p (two-sided) "
                "from the medians' normal approximation, with one robust within-run sd pooled over the "
                f"cells and a between-run sd of {t.between_run_sd:g} added (shapeprof calibrate measures it)")
        if "rounds/reference" in methods:
            text += "; each round value divided by the reference workload's in the same round"
        lines.append(text + ".")
    if "pooled" in methods:
        lines.append(f"- cells without 3 rounds per run (pooled test): ratio = median(candidate) / "
                     f"median(base); {t.confidence:.0%} bootstrap interval ({t.bootstrap} resamples); "
                     "p: Mann-Whitney U, two-sided. It treats one run's samples as independent, "
                     "which over-claims between separate runs.")
    return "\n".join(lines)


def _run_set_method(cmp: Comparison) -> str:
    """The separate-runs method of run sets: mean run levels, and which between-run sd."""
    t = cmp.thresholds
    if cmp.set_between_sd is None:
        between = (f"b = {t.between_run_sd:g}, the calibrated between-run sd (with 2 or more runs on "
                   "both sides the run sets' own spread is estimated too)")
    else:
        between = (f"b = {cmp.between_run_sd:.4g}, the larger of the calibrated {t.between_run_sd:g} "
                   f"and {cmp.set_between_sd:.4g} estimated from the run sets (the robust spread of "
                   "the run levels within each side, pooled over the cells and both sides, less the "
                   "rounds' part)")
    text = (f"- run sets: {cmp.runs[0]} base and {cmp.runs[1]} candidate runs; ratio = exp(mean "
            "candidate run level - mean base run level), a run's level the median of its log round "
            "values (each round's lower quartile: other processes only add time); "
            f"{t.confidence:.0%} interval and p (two-sided) from the normal approximation with "
            "variance (b^2 + w^2 x pi/2 / rounds) x (1/runs base + 1/runs candidate), w one robust "
            f"within-run sd pooled over the cells and runs, {between}")
    if any(c.method == "rounds/reference" for c in cmp.cells):
        text += "; each round value divided by the reference workload's in the same round"
    return text + "."


def _rules(cmp: Comparison) -> str:
    t = cmp.thresholds
    lines = []
    if cmp.paired or any(c.method != "pooled" for c in cmp.cells):
        lines.append(f"- not resolvable: the smallest detectable change exceeds {t.regression_ratio:g}x; "
                     f"regression: p < {t.p_value:g}, ratio >= {t.warning_ratio:g} and the interval "
                     f"reaching {t.regression_ratio:g} (or the whole interval above it); warning: the "
                     f"same below {t.regression_ratio:g}; improvement: p < {t.p_value:g} and ratio <= "
                     f"1/{t.warning_ratio:g}; noise: as large but not significant (shown, not gated).")
    if any(c.method == "pooled" for c in cmp.cells):
        lines.append(f"- pooled test: regression: ratio >= {t.regression_ratio:g}, p < {t.p_value:g} "
                     f"and interval above {t.warning_ratio:g}; warning: ratio >= {t.warning_ratio:g}, "
                     f"p < {t.p_value:g} and interval above 1; improvement: ratio <= 1/{t.warning_ratio:g}, "
                     f"p < {t.p_value:g} and interval below 1; noise: as large but failing those tests.")
    return "\n".join(lines)


def _sortable(x: float) -> float:
    return -math.inf if math.isnan(x) else x


def _facts(cmp: Comparison) -> list[str]:
    lines = []
    for which in cmp.failed_verification:
        lines.append(f"- **verification failed** in the {which} export")
    for change in cmp.fact_changes:
        lines.append(f"- **exact fact changed**: {change}")
    if not lines:
        lines = ["Exact facts (input/output names and axes, op counts, verification): unchanged."]
    return lines + [""]


def _table(cells: list[CellComparison]) -> list[str]:
    lines = ["| cell | base ms | candidate ms | ratio | interval | p | detectable | verdict |",
             "|---|---:|---:|---:|---|---:|---:|---|"]
    for c in cells:
        r = c.test
        head = f"| {c.label} | {c.base_median_ms:.3g} | {c.cand_median_ms:.3g} |"
        if math.isnan(r.ratio):
            lines.append(f"{head} - | - | - | - | {c.verdict} |")
            continue
        detectable = "-" if math.isnan(r.detectable) else f"{r.detectable:.3f}"
        lines.append(f"{head} {r.ratio:.3f} | {r.low:.3f}-{r.high:.3f} | {r.p_value:.2g} | "
                     f"{detectable} | {c.verdict} |")
    return lines


def _geomeans(cmp: Comparison) -> list[str]:
    if not cmp.geomeans:
        return []
    how = "weighted by the data's length distribution" if cmp.weighted else "unweighted"
    lines = [f"Geometric mean of the ratios ({how}):", ""]
    lines += [f"- {group}: {value:.3f}" for group, value in cmp.geomeans.items()]
    return lines + [""]
