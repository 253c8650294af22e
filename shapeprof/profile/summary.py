"""Plain-text summary of a ShapeProfile (what ``shapeprof profile`` prints)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .intervals import Interval
from .uncertainty import how_sure

if TYPE_CHECKING:
    from .shape_profile import ShapeProfile

BAR_WIDTH = 40


def format_summary(profile: ShapeProfile) -> str:
    sections = [_header(profile), _axes(profile), how_sure(profile.uncertainty), _generation(profile), _histogram(profile),
                _shapes(profile), _buckets(profile), _padding(profile)]
    return "\n\n".join(s for s in sections if s)


def _header(p: ShapeProfile) -> str:
    d, spec, m = p.dataset, p.dataset.spec, p.model
    where = ", ".join(spec.files) if spec.files else f"{spec.name} (Hub/cache)"
    total = f" of {d.rows_total:,}" if d.rows_total is not None else ""
    return "\n".join([
        f"shape profile of {spec.name}" + (f" [{spec.split}]" if spec.split else ""),
        f"  data:    {where}",
        f"  rows:    {d.rows_sampled:,}{total} ({d.sampling}, seed {d.seed}); "
        f"text columns: {', '.join(spec.text_columns)}",
        f"  model:   {m.model_type or '?'} ({m.name_or_path}); tokenizer {m.tokenizer_class}, "
        f"max length {m.max_length if m.max_length is not None else 'none'}",
        f"  inputs:  {', '.join(m.input_names)}",
    ])


def _generation(p: ShapeProfile) -> str:
    from .generation import generation_summary

    return generation_summary(p.generation) if p.generation is not None else ""


def _axes(p: ShapeProfile) -> str:
    head = f"{'axis':<16}{'min':>6}{'p50':>8}{'p90':>8}{'p95':>8}{'p99':>8}{'max':>6}{'mean':>8}" \
           f"  {'varies':<8}truncated"
    lines = [head, "-" * len(head)]
    for a in p.axes.values():
        trunc = f"{a.truncated_rows:,} ({100 * a.truncated_share:.1f}%)"
        lines.append(f"{a.name:<16}{a.min:>6}{a.p(50):>8g}{a.p(90):>8g}{a.p(95):>8g}"
                     f"{a.p(99):>8g}{a.max:>6}{a.mean:>8.1f}  {'yes' if a.varies else 'no':<8}{trunc}")
        bounds = [p.uncertainty.percentile(a.name, f"p{q}") for q in (50, 90, 95, 99)]
        if all(bounds):
            lines.append(f"{'  95% interval':<22}" + "".join(f"{_span(b):>8}" for b in bounds if b))
    batch = ", ".join(map(str, p.batch_sizes))
    lines.append(f"{'batch_size':<16}chosen by the user; profiled at {batch}")
    lines.append("(percentiles: numpy 'linear' method on token counts incl. special tokens)")
    return "\n".join(lines)


def _span(interval: Interval) -> str:
    low = "?" if interval.low is None else f"{interval.low:g}"
    high = "?" if interval.high is None else f"{interval.high:g}"
    return f"{low}-{high}"


def _histogram(p: ShapeProfile) -> str:
    seq = p.sequence
    peak = max((b.count for b in seq.histogram), default=1) or 1
    lines = [f"{seq.name} histogram (rows per length range)"]
    for b in seq.histogram:
        label = f"{b.lo}" if b.lo == b.hi else f"{b.lo}-{b.hi}"
        bar = "#" * max(1 if b.count else 0, round(BAR_WIDTH * b.count / peak))
        lines.append(f"  {label:>9} | {bar:<{BAR_WIDTH}} {b.count:,}")
    return "\n".join(lines)


def _shapes(p: ShapeProfile) -> str:
    rec = p.recommendations
    trace = ", ".join(f"{k}={v}" for k, v in rec.trace.items())
    lines = ["recommended shapes", f"  trace (dummy) shapes: {trace}"]
    for axis, r in rec.ranges.items():
        lines.append(f"  {axis:<16} min {r.min:<5} opt {r.opt:<5} max {r.max}")
    for axis, v in rec.static.items():
        lines.append(f"  {axis:<16} constant {v} (may be exported static)")
    lines.append(f"  trtexec: {p.trtexec_args()}")
    opts = p.ort_trt_options()
    lines.append("  onnxruntime TensorRT EP: " + " ".join(f"{k}={v}" for k, v in opts.items()))
    return "\n".join(lines)


def _buckets(p: ShapeProfile) -> str:
    b = p.buckets
    how = "given" if b.rule == "given" else "auto: " + b.rule
    lines = [f"buckets (k={b.k}, {how})"]
    total = sum(x.rows for x in b.buckets) or 1
    for x in b.buckets:
        lines.append(f"  {x.lo:>5}-{x.hi:<5} {x.rows:>9,} rows ({100 * x.rows / total:.1f}%)")
    sure = p.uncertainty.buckets
    span = f" (95% interval {sure.text('.3f')})" if sure is not None else ""
    lines.append(f"  edges: {', '.join(map(str, b.edges))}; waste {b.waste:.3f}{span} padded tokens "
                 "per real token")
    return "\n".join(lines)


def _padding(p: ShapeProfile) -> str:
    sure = p.uncertainty.waste
    lines = ["padding waste (padded tokens per real token)",
             f"  {'policy':<30}{'waste':>8}{'95% interval':>18}{'padded':>14}{'real':>14}"]
    for w in p.padding:
        note = f"  ({w.truncated_rows:,} rows cut)" if w.truncated_rows else ""
        span = sure[w.label].text(".3f") if w.label in sure else "exact" if p.uncertainty.status == "exact" else "-"
        lines.append(f"  {w.label:<30}{w.waste:>8.3f}{span:>18}{w.padded_tokens:>14,}"
                     f"{w.real_tokens:>14,}{note}")
    return "\n".join(lines)
