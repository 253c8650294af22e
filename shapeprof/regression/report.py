"""The comparison as markdown: verdict line, table sorted by ratio, quiet rows folded away."""

from __future__ import annotations

import math

from .compare import CellComparison, Comparison
from .stats import IMPROVEMENT, REGRESSION, WARNING

SHOWN = (REGRESSION, WARNING, IMPROVEMENT)


def markdown_report(cmp: Comparison, base: str = "base", candidate: str = "candidate") -> str:
    t = cmp.thresholds
    counts = ", ".join(f"{cmp.count(v)} {v}" for v in
                       ("regression", "warning", "improvement", "noise", "same", "not comparable")
                       if cmp.count(v))
    lines = [f"## shapeprof compare: {cmp.verdict}", "",
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
    lines += ["### Details", "",
              _method(cmp),
              f"- regression: ratio >= {t.regression_ratio:g}, p < {t.p_value:g} and interval above "
              f"{t.warning_ratio:g}; warning: ratio >= {t.warning_ratio:g}, p < {t.p_value:g} and "
              f"interval above 1; improvement: ratio <= 1/{t.warning_ratio:g}, p < {t.p_value:g} "
              "and interval below 1; noise: as large but failing those tests (shown, not gated).",
              f"- cells matched on: model, variant, runtime, providers, threads, batch, length, "
              f"versions{'; ignored: ' + ', '.join(cmp.ignored) if cmp.ignored else ''}."]
    for which, labels in (("base", cmp.only_in_base), ("candidate", cmp.only_in_candidate)):
        if labels:
            lines.append(f"- only in the {which} (not compared): {', '.join(labels)}")
    return "\n".join(lines) + "\n"


def _method(cmp: Comparison) -> str:
    t = cmp.thresholds
    if cmp.paired:
        return ("- ratio = geometric mean over rounds of median(candidate) / median(base) within the "
                f"round (the two ran back to back); {t.confidence:.0%} t interval; p: t test on the "
                "log ratios, two-sided.")
    return (f"- ratio = median(candidate) / median(base); {t.confidence:.0%} bootstrap interval "
            f"({t.bootstrap} resamples); p: Mann-Whitney U, two-sided.")


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
    lines = ["| cell | base ms | candidate ms | ratio | interval | p | verdict |",
             "|---|---:|---:|---:|---|---:|---|"]
    for c in cells:
        r = c.test
        if math.isnan(r.ratio):
            lines.append(f"| {c.label} | {c.base_median_ms:.3g} | {c.cand_median_ms:.3g} | - | - | - | {c.verdict} |")
            continue
        lines.append(f"| {c.label} | {c.base_median_ms:.3g} | {c.cand_median_ms:.3g} | {r.ratio:.3f} | "
                     f"{r.low:.3f}-{r.high:.3f} | {r.p_value:.2g} | {c.verdict} |")
    return lines


def _geomeans(cmp: Comparison) -> list[str]:
    if not cmp.geomeans:
        return []
    how = "weighted by the data's length distribution" if cmp.weighted else "unweighted"
    lines = [f"Geometric mean of the ratios ({how}):", ""]
    lines += [f"- {group}: {value:.3f}" for group, value in cmp.geomeans.items()]
    return lines + [""]
