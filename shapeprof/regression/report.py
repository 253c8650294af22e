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
             f"`{candidate}` vs `{base}`: {len(cmp.cells)} matched cells ({counts}).", ""]
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
    that would resolve them."""
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
        more = (f"about {max(n for n in needed if n is not None)} rounds per run would resolve "
                "them" if None not in needed else "more rounds cannot resolve all of them: the drift "
                "between runs alone exceeds the threshold; compare interleaved runs (shapeprof ci)")
        lines.append(f"**Timings not resolvable**: {len(unresolved)} of {len(cmp.cells)} cells cannot "
                     f"resolve the {t.regression_ratio:g}x threshold (smallest detectable change up to "
                     f"{worst:.2f}x), so they are neither regression nor same and do not gate; "
                     f"{more}.")
    return lines + ([""] if lines else [])


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
    if methods - {"pooled"}:
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
