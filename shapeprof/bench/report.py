"""Markdown summary of a benchmark: cells, variants, expected latency per policy, replays."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .paired import PairedSpeedup

if TYPE_CHECKING:
    from .results import BenchResults


def fmt(value: Any, digits: int = 3) -> str:
    """A number as the tables, the page and the heatmap print it ("-" for none or NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


# image and audio benchmarks (settings["modality"]): cell header and per-element throughput
MEDIA_HEADERS = {"image": ("cell (BxHxW)", "images/s", "px/s"),
                 "audio": ("cell (BxT)", "clips/s", "samples/s")}
TEXT_HEADERS = ("cell (BxL)", "seq/s", "tok/s")


def cells_table(results: BenchResults) -> str:
    df = results.to_dataframe()
    labels = media_cell_labels(results)
    rows = [(r.variant, labels.get((r.batch_size, r.sequence_length), _cell_label(r)),
             r.input_source, r.p50_ms, r.p90_ms, r.p99_ms, r.sequences_per_s, r.tokens_per_s,
             _speedup(r.speedup_vs_pytorch, r.speedup_vs_pytorch_low, r.speedup_vs_pytorch_high),
             r.process_peak_rss_mib, r.session_growth_mib)
            for r in df.itertuples()]
    cell, per_s, elements_s = MEDIA_HEADERS.get(results.settings.get("modality"), TEXT_HEADERS)
    return table(["variant", cell, "inputs", "p50 ms", "p90 ms", "p99 ms", per_s, elements_s,
                  "x PyTorch (95% interval)", "process peak RSS MiB", "session growth MiB"], rows)


def _speedup(ratio: float, low: float, high: float) -> str:
    if math.isnan(ratio):
        return "-"
    if math.isnan(low):
        return f"{ratio:.2f}"
    return f"{ratio:.2f} ({low:.2f}-{high:.2f})"


def verdict_lines(results: BenchResults) -> list[str]:
    """Per onnxruntime variant: cells faster / tied / slower than PyTorch, paired by round."""
    df = results.to_dataframe()
    if df.empty or "pytorch" not in set(df["variant"]):
        return []
    df = df[(df["runtime"] == "onnxruntime") & df["speedup_vs_pytorch_low"].notna()]
    lines = []
    for variant, rows in df.groupby("variant", sort=False):
        verdicts = [PairedSpeedup(r.speedup_vs_pytorch, r.speedup_vs_pytorch_low,
                                  r.speedup_vs_pytorch_high, r.rounds).verdict for r in rows.itertuples()]
        slower = [_cell_label(r) for r, v in zip(rows.itertuples(), verdicts) if v == "slower"]
        line = (f"{variant} vs PyTorch, paired by round (95% interval): faster in "
                f"{verdicts.count('faster')} cells, within noise in {verdicts.count('tie')}, "
                f"slower in {len(slower)}")
        lines.append(line + (f" ({', '.join(slower)})" if slower else ""))
    return lines


def media_cell_labels(results: BenchResults) -> dict[tuple[int, int], str]:
    """(batch, elements per sample) -> "BxHxW" for image/audio results; empty for text."""
    if not results.settings.get("modality"):
        return {}
    return {(b, math.prod(sizes)): "x".join(map(str, (b, *sizes)))
            for b, *sizes in results.settings.get("cells", ())}


def _cell_label(r: Any) -> str:
    shape = f"{r.batch_size}x{r.sequence_length}"
    if not r.phase:
        return shape
    return f"{r.phase} {shape}" + (f" past {r.past_length}" if r.past_length else "")


def generation_table(results: BenchResults) -> str:
    rows = [(g.variant, g.batch_size, g.mean_prompt_length, g.new_tokens, g.ttft_ms, g.ms_per_token,
             g.total_ms, g.tokens_per_s, g.requests_per_s, g.outside_measured)
            for g in results.generation]
    return table(["variant", "batch", "prompt (mean)", "new tokens", "TTFT ms", "ms/token",
                  "total ms", "tok/s", "requests/s", "outside measured"], rows)


def requests_table(results: BenchResults) -> str:
    """Per request over the real (prompt, completion) pairs: percentiles and throughput."""
    def q(d: dict[str, float]) -> str:
        return f"{d['p50']:.3g} / {d['p90']:.3g} / {d['p99']:.3g}"

    rows = [(r.variant, r.batch_size, r.requests, f"{r.mean_prompt_length:.1f}", f"{r.mean_new_tokens:.1f}",
             q(r.ttft_ms), q(r.ms_per_token), q(r.latency_ms), r.tokens_per_s, r.requests_per_s,
             r.outside_measured) for r in results.requests]
    return table(["variant", "batch", "requests", "prompt (mean)", "new tokens (mean)",
                  "TTFT ms p50/p90/p99", "ms/token p50/p90/p99", "latency ms p50/p90/p99", "tok/s",
                  "requests/s", "outside measured"], rows)


def generation_replay_table(results: BenchResults) -> str:
    def pm(d: dict[str, dict[str, float]], q: str) -> str:
        return f"{d['predicted'][q]:.3g} / {d['measured'][q]:.3g}"

    rows = [(r.variant, r.batch_size, r.requests, r.rounds, r.decode_steps, r.predicted_s, r.measured_s,
             f"{100 * r.error:+.1f}%", r.calls_s, f"{100 * r.calls_error:+.1f}%", pm(r.ttft_ms, "p50"), pm(r.latency_ms, "p50"),
             pm(r.latency_ms, "p90"), pm(r.latency_ms, "p99")) for r in results.generation_replays]
    return table(["variant", "batch", "requests", "rounds", "decode steps/round", "predicted s",
                  "measured s", "error", "session.run alone s", "error vs run alone", "TTFT p50 ms pred/meas", "latency p50 ms pred/meas",
                  "p90 pred/meas", "p99 pred/meas"], rows)


def variants_table(results: BenchResults) -> str:
    rows = [(v.name, v.reference, v.max_abs_diff, v.mean_abs_diff, v.within_tolerance, v.size_mb,
             ", ".join(f"{k} {n}" for k, n in v.fused_ops.items()) or "-") for v in results.variants]
    return table(["variant", "checked vs", "max abs diff", "mean abs diff", "within 1e-3", "MB",
                  "fused ops"], rows)


def expected_table(results: BenchResults) -> str:
    rows = [(e.variant, e.label, e.batch_size, e.batch_latency_ms, e.sequences_per_s, e.tokens_per_s,
             e.padded_tokens / max(e.real_tokens, 1), e.outside_measured) for e in results.expected]
    return table(["variant", "policy", "batch", "ms/batch", "seq/s", "real tok/s", "pad per real tok",
                  "outside measured"], rows)


def replay_table(results: BenchResults) -> str:
    rows = [(r.variant, r.label, r.batch_size, r.rows, r.predicted_s, r.measured_s,
             f"{100 * r.error:+.1f}%", "-" if r.side_by_side_s is None else r.side_by_side_s,
             _pct(r.side_by_side_error), _paired_pct(r)) for r in results.replays]
    return table(["variant", "policy", "batch", "rows", "predicted s", "measured s", "error",
                  "same-shape cells s", "error vs cells side by side", "error paired by round (95%)"],
                 rows)


def _paired_pct(r: Any) -> str:
    if r.round_error is None:
        return "-"
    if r.round_error_low is None:
        return _pct(r.round_error)
    return f"{_pct(r.round_error)} ({_pct(r.round_error_low)} to {_pct(r.round_error_high)})"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.1f}%"


def markdown_summary(results: BenchResults) -> str:
    env, s = results.environment, results.settings
    parts = [f"## shapeprof bench: {results.model.get('model_type')} ({results.model.get('task')})",
             f"{env.get('cpu')}, {s.get('intra_op_threads')} intra-op threads, "
             f"{', '.join(s.get('providers', []))}, graph optimisation {s.get('graph_optimization')}, "
             f"denormals {'flushed to zero' if s.get('flush_denormals') else 'kept'}; "
             f"onnxruntime {env['versions'].get('onnxruntime')}, torch {env['versions'].get('torch')}",
             "", "### Cells", cells_table(results), *verdict_lines(results)]
    if results.variants:
        parts += ["", "### Variants (checked before timing)", variants_table(results)]
    if results.expected:
        parts += ["", "### Expected on the data, per padding policy", expected_table(results)]
    if results.generation:
        parts += ["", "### Expected per request (prefill + decode steps)", generation_table(results)]
    if results.requests:
        parts += ["", f"### Expected per request ({results.requests[0].source}; static batches)",
                  requests_table(results)]
    if results.replays:
        parts += ["", "### Replay: prediction vs measurement", replay_table(results)]
    if results.generation_replays:
        parts += ["", "### Generation replay: real requests through prefill and decode",
                  generation_replay_table(results)]
    parts += [f"note: {n}" for n in results.notes]
    return "\n".join(parts)
