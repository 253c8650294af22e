"""Expected throughput on the data per padding policy (and what the replay measured)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .figures import Plot, figure, to_svg

if TYPE_CHECKING:
    from ..bench.results import BenchResults


def policies_plot(results: BenchResults) -> Plot | None:
    if not results.expected:
        return None
    labels = list(dict.fromkeys(e.label for e in results.expected))
    names = list(dict.fromkeys(e.variant for e in results.expected))
    measured = {(r.variant, r.label): r.rows / r.measured_s for r in results.replays if r.measured_s > 0}
    series = [{"variant": v, "labels": labels,
               "sequences_per_s": [_expected(results, v, label) for label in labels],
               "measured_sequences_per_s": [measured.get((v, label)) for label in labels]} for v in names]
    height = 0.8 / len(series)
    with figure("policies", size=(7.0, 0.45 * len(labels) * max(1, len(series) / 2) + 1.5)) as (fig, axes):
        ax = axes[0][0]
        for k, s in enumerate(series):
            ys = [i + (k - (len(series) - 1) / 2) * height for i in range(len(labels))]
            ax.barh(ys, [v or 0 for v in s["sequences_per_s"]], height=height, label=f"{s['variant']} expected")
            got = [(y, m) for y, m in zip(ys, s["measured_sequences_per_s"]) if m is not None]
            if got:
                ax.scatter([m for _, m in got], [y for y, _ in got], marker="|", s=120, color="black",
                           zorder=3, label=f"{s['variant']} replayed")
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
        ax.set_xlabel("sequences per second")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        svg = to_svg(fig)
    batch = results.expected[0].batch_size
    caption = (f"Expected throughput on the profiled data at batch {batch} for each padding policy: the "
               "measured cells weighted by how often the data hits each shape. Black ticks: a replay "
               "of real rows under the policy (measured).")
    table = (("variant", "policy", "expected seq/s", "replayed seq/s"),
             tuple((s["variant"], label, e, m) for s in series
                   for label, e, m in zip(labels, s["sequences_per_s"], s["measured_sequences_per_s"])))
    return Plot("policies", "Expected throughput per padding policy", caption, svg,
                {"batch_size": batch, "series": series}, table)


def _expected(results: BenchResults, variant: str, label: str) -> Any:
    return next((e.sequences_per_s for e in results.expected if (e.variant, e.label) == (variant, label)), None)
