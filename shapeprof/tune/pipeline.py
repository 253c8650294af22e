"""``tune``: the fastest deployment that keeps accuracy, chosen on the profiled data and proven
by replay on rows the choice never saw. A list of named stages over one :class:`TuneContext`.

1. check: options, model directory, profile, output directory, the labelled accuracy data
   (before anything is timed);
2. rows: the profile's dataset tokenized once, split into search rows and held-out rows;
3. variants: each graph variant built; 4. accuracy: each scored against float32 on the task,
   those over the drop budget rejected;
5. search: coarse cells, pruning, batch sizes grown, thread layouts (``search``);
6. proof: winner and baseline served side by side on the held-out rows (``proof``);
7. output: tune.json, tune.md, deploy.json, serve.py and the chosen graph, written at once.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from ..atomic import atomic_dir, check_output_dir
from ..bench.model_dir import open_model_dir
from ..bench.profile_view import profile_view
from ..bench.runner import physical_cores
from ..console import progress, say
from ..errors import TuneError
from ..layout import TUNE_FILE, TUNE_HTML, TUNE_SUMMARY
from . import search
from .candidates import Candidate, closest, predict, rank
from .context import TuneContext, load_rows
from .measure import latency_model
from .options import TuneOptions
from .proof import prove
from .result import Proof, Row, TuneResult
from .scoring import accepted, check_accuracy_data, score
from .variants import available_variants, build_variants, calibration_for

STAGES = 6


def tune(model_dir: str | Path, profile: Any, output_dir: str | Path, options: TuneOptions | None = None,
         *, overwrite: bool = False) -> TuneResult:
    """Tune ``model_dir`` (a ``shapeprof export`` directory) on ``profile``'s data into ``output_dir``.

    A result without a winner (no candidate meets the SLO) is written too, with the closest
    candidates; the command exits 1 on it.
    """
    options = options or TuneOptions()
    start = time.perf_counter()
    output_dir = Path(output_dir)
    check_output_dir(output_dir, overwrite, TuneError)
    model = open_model_dir(model_dir)
    view = profile_view(profile)
    data = check_accuracy_data(model, options.accuracy_data, options.accuracy_rows, options.seed,
                               (view.dataset or {}).get("data_dir"))
    variants, notes = available_variants(options.variants, model)
    with tempfile.TemporaryDirectory(prefix="shapeprof-tune-") as work, \
            progress(STAGES, "tune", enabled=options.progress, unit="stages") as bar:
        ctx = TuneContext(model, view, options, Path(work), options.threads or physical_cores(), notes=notes)
        result = _run(ctx, variants, data, bar)
        result = TuneResult(**{**result.__dict__, "seconds": time.perf_counter() - start})
        with atomic_dir(output_dir, overwrite, TuneError) as tmp:
            return _write(tmp, ctx, result)


def _run(ctx: TuneContext, variants: list[str], data: Any, bar: Any) -> TuneResult:
    say(ctx.options.progress, f"tune: reading the profile's rows and building {len(variants)} variants")
    load_rows(ctx)
    static = any("static" in v for v in variants)
    calibration = calibration_for(ctx.view, data, ctx.options.seed) if static else None
    ctx.paths = build_variants(ctx.model, variants, ctx.workdir, calibration, bar.set_now, ctx.tokenizer)
    bar.update(1, now="scoring accuracy")
    ctx.accuracy = score(ctx.model, {v: ctx.paths[v] for v in variants}, data, ctx.options.max_accuracy_drop,
                         ctx.options.seed, bar.set_now, ctx.cores, ctx.tokenizer)
    good = [v for v in accepted(ctx.accuracy) if v in variants]
    if not good:
        raise TuneError(f"no variant keeps accuracy within --max-accuracy-drop {ctx.options.max_accuracy_drop:g}; "
                        "raise the budget")
    bar.update(1, now="timing cells (coarse)")
    kept = search.coarse(ctx, good, bar.set_now)
    bar.update(1, now="growing batch sizes")
    search.grow(ctx, kept, bar.set_now)
    bar.update(1, now="thread layouts")
    layouts = search.layouts(ctx, kept, bar.set_now)
    winner = search.choose(ctx, layouts)
    bar.update(1, now="proof on held-out rows")
    proof = None
    if winner is not None:
        proof = Proof(*prove(ctx, winner, search.baseline_candidate(), bar.set_now))
    bar.update(1, now="writing")
    return _result(ctx, winner, proof, layouts)


def _result(ctx: TuneContext, winner: Candidate | None, proof: Proof | None, layouts: dict[str, Any]
            ) -> TuneResult:
    rows = [_row(ctx, c, p) for c, p in rank(ctx.scored, ctx.options.slo)]
    base = search.baseline_candidate()
    predicted = predict(base, latency_model(ctx.baseline_cells), ctx.search_lengths)
    base_row = Row(base, predicted, _drop(ctx, "onnx"), None if proof is None else proof.baseline.memory_mib,
                   _meets(ctx, predicted), baseline=True)
    chosen = next((r for r in rows if r.candidate == winner), None)
    if chosen is None and ctx.options.slo is not None:
        near = {c for c, _ in closest(ctx.scored, ctx.options.slo)}
        ctx.notes.append("no candidate meets the SLO; closest: " + "; ".join(c.label for c in near))
    return TuneResult(_model_info(ctx), _data_info(ctx), ctx.options.to_dict(), _environment(ctx),
                      tuple(ctx.accuracy), (base_row, *rows), chosen, proof, dict(ctx.pruned), layouts,
                      None, 0.0, tuple(ctx.notes))


def _row(ctx: TuneContext, c: Candidate, p: Any) -> Row:
    mem = ctx.memory_mib.get(c.variant)
    return Row(c, p, _drop(ctx, c.variant), None if mem is None else mem * c.layout.sessions, _meets(ctx, p))


def _drop(ctx: TuneContext, variant: str) -> float | None:
    return next((a.drop for a in ctx.accuracy if a.variant == variant), None)


def _meets(ctx: TuneContext, prediction: Any) -> bool:
    slo = ctx.options.slo
    return slo is None or (prediction is not None and slo.met(prediction))


def _model_info(ctx: TuneContext) -> dict[str, Any]:
    return {"path": str(ctx.model.path), "model_type": ctx.model.model_type, "task": ctx.model.task}


def _data_info(ctx: TuneContext) -> dict[str, Any]:
    return {"dataset": dict(ctx.view.dataset or {}), "rows": int(len(ctx.lengths)),
            "search_rows": int(len(ctx.search)), "held_out_rows": int(len(ctx.held_out)),
            "bucket_edges": list(ctx.view.bucket_edges()), "profile_batch_sizes": list(ctx.view.batch_sizes)}


def _environment(ctx: TuneContext) -> dict[str, Any]:
    from ..bench.env import capture_environment

    return capture_environment(ctx.cores)


def _write(tmp: Path, ctx: TuneContext, result: TuneResult) -> TuneResult:
    from .deploy import write_deploy
    from .page import render
    from .report import markdown

    deploy = None
    if result.winner is not None:
        deploy = write_deploy(tmp, ctx.model, result.winner.candidate, ctx.paths[result.winner.candidate.variant])
    final = TuneResult(**{**result.__dict__, "deploy": deploy})
    final.save(tmp / TUNE_FILE)
    text = markdown(final)
    (tmp / TUNE_SUMMARY).write_text(text, encoding="utf-8")
    (tmp / TUNE_HTML).write_text(render(text), encoding="utf-8")
    return final
