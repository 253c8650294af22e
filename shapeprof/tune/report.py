"""tune.md and the closing summary: accuracy side by side, the ranked table (baseline first), the
winner and its deployment, and the proof on held-out rows with any miss flagged."""

from __future__ import annotations

from .proof import FLAG_ERROR, Replay
from .result import Row, TuneResult

TABLE_ROWS = 15


def markdown(result: TuneResult) -> str:
    lines = ["# shapeprof tune", "", _setup(result), ""]
    lines += ["## Accuracy against float32", "", *accuracy_table(result), ""]
    lines += ["## Candidates (throughput predicted on the search rows' real lengths)", "",
              *candidate_table(result), ""]
    if result.pruned:
        lines += ["Pruned after the coarse grid (could not win):", ""]
        lines += [f"- {v}: {why}" for v, why in result.pruned.items()] + [""]
    lines += ["## Recommendation", "", *winner_lines(result), ""]
    if result.proof is not None:
        lines += ["## Proof: replay on held-out rows", "", *proof_table(result), ""]
    lines += [f"- {n}" for n in result.notes]
    return "\n".join(lines).rstrip() + "\n"


def _setup(result: TuneResult) -> str:
    d, env = result.data, result.environment
    slo = result.slo.label if result.slo else "none"
    return (f"{result.model['model_type']} ({result.model['task']}) on {d['dataset'].get('name', '?')}: "
            f"{d['search_rows']} rows to choose with, {d['held_out_rows']} held out for the proof; "
            f"SLO {slo}; accuracy budget {result.options['max_accuracy_drop']:g} points; "
            f"{env.get('intra_op_threads')} cores ({env.get('cpu', '?')}); took {result.seconds:.0f} s")


def accuracy_table(result: TuneResult) -> list[str]:
    out = ["| variant | metric | value | 95% interval | drop vs float32 | drop interval | kept |",
           "|---|---|---:|---|---:|---|---|"]
    for a in result.accuracy:
        interval = "" if a.drop_low is None else f"{a.drop_low:.2f}..{a.drop_high:.2f}"
        out.append(f"| {a.variant} | {a.metric} | {a.value:.2f} | {a.low:.2f}..{a.high:.2f} | {a.drop:.2f} | "
                   f"{interval} | {'yes' if a.accepted else 'REJECTED'} |")
    return out


def candidate_table(result: TuneResult, limit: int = TABLE_ROWS) -> list[str]:
    out = ["| # | candidate | seq/s | vs baseline | p50 ms/batch | p99 ms/batch | accuracy drop | MiB | SLO |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---|"]
    base = result.rows[0].prediction.sequences_per_s
    for i, row in enumerate(result.rows[:limit + 1]):
        out.append(_candidate_line(row, "baseline" if row.baseline else str(i), base,
                                   result.winner is not None and row.candidate == result.winner.candidate))
    if len(result.rows) > limit + 1:
        out.append(f"| | ... {len(result.rows) - limit - 1} more in tune.json | | | | | | | |")
    return out


def _candidate_line(row: Row, rank: str, base: float, won: bool) -> str:
    p = row.prediction
    label = f"**{row.candidate.label}**" if won else row.candidate.label
    drop = "" if row.accuracy_drop is None else f"{row.accuracy_drop:.2f}"
    mem = "" if row.memory_mib is None else f"{row.memory_mib:.0f}"
    return (f"| {rank} | {label} | {p.sequences_per_s:,.0f} | {p.sequences_per_s / base:.2f}x | {p.p50_ms:.1f} | "
            f"{p.p99_ms:.1f} | {drop} | {mem} | {'yes' if row.meets_slo else 'no'} |")


def winner_lines(result: TuneResult) -> list[str]:
    if result.winner is None:
        return ["No candidate meets the SLO; the closest are in the notes below."]
    w, d = result.winner, result.deploy or {}
    return [f"**{w.candidate.label}**: {w.prediction.sequences_per_s:,.0f} seq/s predicted, "
            f"p50 {w.prediction.p50_ms:.1f} ms, p99 {w.prediction.p99_ms:.1f} ms per batch.",
            f"deploy.json: model {d.get('model_file')}, {d.get('sessions')} session(s), "
            f"{(d.get('session_options') or {}).get('intra_op_num_threads')} thread(s) each, denormals "
            "flushed; serve with `python serve.py TEXT...` or `from serve import serve`.", *layout_lines(result)]


def layout_lines(result: TuneResult) -> list[str]:
    """The best candidate of each thread layout, as served on the search rows to choose between them."""
    got = result.layouts or {}
    served = [f"{c['variant']}, batch {c['batch_size']}, {c['sessions']} x {c['threads']}: {s:,.0f} seq/s"
              for c, s in zip(got.get("candidates") or [], got.get("measured_sequences_per_s") or [])]
    return ["", "Best of each thread layout, served on the search rows (interleaved; the faster won): "
            + "; ".join(served) + "."] if served else []


def proof_table(result: TuneResult) -> list[str]:
    proof = result.proof
    assert proof is not None
    s, w = proof.speedup, proof.winner
    out = ["Predicted: the search's latency model with its cells re-timed beside every replay pass (so "
           "the machine's drift since the search drops out), times the round's serving factor "
           "(measured / cells-predicted time serving the search rows in the same round: what a "
           "server pays that repeated cells do not; its geometric mean is shown); error = predicted / measured - 1, geometric "
           f"mean over {int(s['rounds'])} paired rounds with its 95% interval.", "",
           "| | predicted seq/s | measured seq/s | error (95%) | serving factor | error of the cells alone | "
           "search-time prediction (error) | predicted p99 ms | measured p99 ms | p99 error |",
           "|---|---:|---:|---|---:|---:|---|---:|---:|---:|"]
    out += [_proof_line(name, r) for name, r in (("baseline", proof.baseline), ("winner", w))]
    out += ["", f"Winner over baseline, measured side by side on {w.rows} held-out rows: "
            f"**{s['ratio']:.2f}x** (95%: {s['low']:.2f}-{s['high']:.2f}, {int(s['rounds'])} paired rounds)."]
    if w.flagged:
        out.append(f"**FLAGGED**: the winner's replay misses its prediction by {w.error:+.1%} "
                   f"(more than {FLAG_ERROR:.0%}).")
    elif not w.settled:
        out.append(f"The winner's replay error {w.error:+.1%} is within {FLAG_ERROR:.0%}, but its interval "
                   f"({_interval(w)}) reaches past it: more --proof-rounds would settle it.")
    return out


def _interval(r: Replay) -> str:
    if r.error_low is None or r.error_high is None:
        return "none"
    return f"{r.error_low:+.1%}..{r.error_high:+.1%}"


def _proof_line(name: str, r: Replay) -> str:
    cells = "" if r.cells_error is None else f"{r.cells_error:+.1%}"
    return (f"| {name} | {r.predicted_sequences_per_s:,.0f} | {r.measured_sequences_per_s:,.0f} | "
            f"{r.error:+.1%} ({_interval(r)}) | {r.serving_factor:.3f} | {cells} | "
            f"{r.search_predicted_sequences_per_s:,.0f} ({r.search_error:+.1%}) | "
            f"{r.predicted_p99_ms:.1f} | {r.measured_p99_ms:.1f} | {r.p99_error:+.1%} |")


def summary(result: TuneResult, out: str) -> str:
    """The closing lines on stdout."""
    lines = [_setup(result)]
    lines += [f"accuracy: {a.variant} {a.metric} {a.value:.2f} ({a.low:.2f}..{a.high:.2f}), drop {a.drop:.2f}"
              f"{'' if a.accepted else ' REJECTED'}" for a in result.accuracy]
    lines += winner_lines(result)[:1]
    if result.proof is not None:
        p = result.proof
        lines.append(f"proof ({p.winner.rows} held-out rows): winner {p.winner.measured_sequences_per_s:,.0f} seq/s "
                     f"measured vs {p.winner.predicted_sequences_per_s:,.0f} predicted ({p.winner.error:+.1%}, "
                     f"95% {_interval(p.winner)}), "
                     f"p99 {p.winner.measured_p99_ms:.1f} ms; baseline {p.baseline.measured_sequences_per_s:,.0f} "
                     f"seq/s, p99 {p.baseline.measured_p99_ms:.1f} ms; speedup {p.speedup['ratio']:.2f}x "
                     f"(95%: {p.speedup['low']:.2f}-{p.speedup['high']:.2f})")
        if p.winner.flagged:
            lines.append(f"FLAGGED: the winner's replay misses its prediction by {p.winner.error:+.1%}")
    lines.append(f"files: {out}/: tune.json, tune.md, tune.html" + (", deploy.json, serve.py" if result.deploy else ""))
    return "\n".join(lines)
