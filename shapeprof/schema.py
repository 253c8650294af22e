"""Every artifact's schema version, its written history, and loaders that migrate old files.

Each JSON file shapeprof writes carries ``schema_version``. An :class:`Artifact` holds the
current version, the history (version -> what it changed, with the commit that wrote it) and
one migration per older version, from that version to the next. :func:`load` reads a path or
takes a parsed mapping, checks the version and applies the migrations in order, so the
dataclasses' ``from_dict`` only ever see the current layout.

Before this module, fields were added without a version bump (bench ``round_sizes``,
``generation``, ...): every such file says ``schema_version`` 1, and the migration from 1
fills each field a version-1 file may lack with the default the code always used.

A file from a newer shapeprof, a missing or non-integer version, an empty or non-JSON file
or one that is not a JSON object: a one-line error of the artifact's stage class.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from . import layout
from .errors import (BenchError, ExportError, ProfileError, ShapeprofError, TuneError,
                     VerificationError)

Migration = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Artifact:
    """One kind of JSON file: its name, current version, history and migrations."""

    kind: str                                   # key for load(): "bench", "profile", ...
    noun: str                                   # how messages name it: "results", "profile"
    file: str                                   # the usual file name (shapeprof.layout)
    version: int                                # what this shapeprof writes
    history: tuple[tuple[int, str], ...]        # (version, what changed), oldest first
    error: type[ShapeprofError]
    remedy: str                                 # what to do about a file we cannot read
    migrations: Mapping[int, Migration] = field(default_factory=dict)  # v -> v + 1
    unversioned: int | None = None              # the version of a file without schema_version

    @property
    def oldest(self) -> int:
        return self.history[0][0]

    def changes(self, version: int) -> list[str]:
        return [text for v, text in self.history if v == version]


# ---- migrations --------------------------------------------------------------------------------

def _bench_1_to_2(d: dict[str, Any]) -> dict[str, Any]:
    """Fill what version-1 files written before each addition lack (the code's defaults)."""
    for key, default in (("created", ""), ("variants", []), ("cells", []), ("expected", []),
                         ("replays", []), ("generation", []), ("notes", []), ("extra", {})):
        if d.get(key) is None:
            d[key] = default
    for cell in d["cells"]:
        for key, default in (("peak_rss_mib", None), ("rounds", 1), ("phase", ""),
                             ("past_length", 0), ("round_sizes", [])):
            cell.setdefault(key, default)
    for replay in d["replays"]:
        replay.pop("sweep_predicted_s", None)       # 285f95c-8a964a6: another estimate, dropped
        replay.pop("sweep_error", None)
        for key in ("side_by_side_s", "side_by_side_error", "round_error", "round_error_low",
                    "round_error_high"):
            replay.setdefault(key, None)
    return d


def _bench_2_to_3(d: dict[str, Any]) -> dict[str, Any]:
    """``peak_rss_mib`` always held the growth over the cell's starting RSS: renamed; the
    process's peak was not recorded."""
    for cell in d["cells"]:
        cell["session_growth_mib"] = cell.pop("peak_rss_mib", None)
        cell.setdefault("process_peak_rss_mib", None)
    return d


def _profile_1_to_2(d: dict[str, Any]) -> dict[str, Any]:
    """Text and media profiles: intervals were not computed before version 2."""
    d["uncertainty"] = {"status": "unknown"}
    return d


def _bench_3_to_4(d: dict[str, Any]) -> dict[str, Any]:
    d.setdefault("reference", None)             # the reference workload was not timed before 4
    for cell in d["cells"]:
        cell.setdefault("cpu_samples_ms", [])   # nor the CPU time of each call
    return d


def _export_1_to_2(d: dict[str, Any]) -> dict[str, Any]:
    d.setdefault("source", None)                # before f240149
    d.setdefault("files", [layout.ONNX_FILE])          # before cafb553 every export was one graph
    d.setdefault("notes", [])
    return d


def _export_2_to_3(d: dict[str, Any]) -> dict[str, Any]:
    d.setdefault("config", "registered")        # before derived configs every config was registered
    return d


def _generation_0_to_1(d: dict[str, Any]) -> dict[str, Any]:
    checks = d.get("checks") or []
    d["checks"] = checks
    d["passed"] = all(bool(c.get("passed")) for c in checks)
    return d


def _generation_1_to_2(d: dict[str, Any]) -> dict[str, Any]:
    for check in d.get("checks") or []:
        check.setdefault("distinct_tokens", None)     # not measured before version 2
    return d


# ---- the artifacts -----------------------------------------------------------------------------

PROFILE = Artifact(
    "profile", "profile", layout.PROFILE_FILE, 2,
    ((1, "f240149: dataset, model, batch_sizes, axes, length_counts, recommendations "
         "(trtexec, ort_trt_options), buckets, padding; unchanged to b81fe5a"),
     (1, "chat data (no bump): optional 'generation' (prompt_length and new_tokens statistics, "
         "pairs [[prompt, new tokens, rows]], chat columns, template origin and sha256); older "
         "readers ignore it, and a file without it is a text profile"),
     (2, "uncertainty: status 'sample' with 95% intervals (percentiles per axis, padding and "
         "bucket waste, methods, rows_for_p99_within_1) or 'exact' (every row profiled); "
         "migrating 1 gives status 'unknown'; 'generation' stays optional")),
    ProfileError, "write it with 'shapeprof profile -o PATH'", {1: _profile_1_to_2})

MEDIA_PROFILE = Artifact(
    "media_profile", "image/audio profile", layout.PROFILE_FILE, 2,
    ((1, "16a5a8b: kind 'media', modality image or audio, dataset, model, batch_sizes, axes, "
         "source_axes, static_axes, trace_shapes, bounds"),
     (1, "285f95c: modality 'text+image' (CLIP-style pairs), same fields; unchanged to b81fe5a"),
     (2, "uncertainty: status 'sample' with 95% percentile intervals per axis (model input and "
         "source) and rows_for_p99_within_1, or 'exact'; migrating 1 gives status 'unknown'")),
    ProfileError, "write it with 'shapeprof profile -o PATH'", {1: _profile_1_to_2})

BENCH = Artifact(
    "bench", "results", layout.BENCH_FILE, 4,
    ((1, "f240149: model, settings, environment, variants, cells (raw samples_ms, stats_ms, "
         "peak_rss_mib, rounds), expected, replays, notes, extra"),
     (1, "285f95c (no bump): cells' phase and past_length; generation; replays' "
         "sweep_predicted_s and sweep_error"),
     (1, "8a964a6 (no bump): replays' side_by_side_s and side_by_side_error replace sweep_*"),
     (1, "92d91e6 (no bump): cells' round_sizes (samples per round, pairs runtimes by round)"),
     (1, "bd6470a (no bump): replays' round_error, round_error_low, round_error_high"),
     (2, "every field above is always written; migrating 1 fills the missing ones with the "
         "code's defaults (phase '', past_length 0, round_sizes [], generation [], replay "
         "estimates null) and drops sweep_*"),
     (3, "cells' peak_rss_mib (growth over the RSS before the cell) renamed session_growth_mib; "
         "process_peak_rss_mib added (the process's peak RSS; null in migrated files)"),
     (3, "generation workloads (no bump): optional 'requests' (per-request percentiles over real "
         "prompt/completion pairs) and 'generation_replays'; older readers ignore them, and a "
         "file without them reads them as empty"),
     (4, "reference: the reference workload (a fixed tiny graph) timed in every round, with "
         "workload, samples_ms and round_sizes, for normalising separate runs; cells' cpu_samples_ms: "
         "the calling thread's CPU time per call (onnxruntime with 1 intra-op thread, else []); "
         "null and [] in migrated files")),
    BenchError, "give a file written by 'shapeprof bench -o'",
    {1: _bench_1_to_2, 2: _bench_2_to_3, 3: _bench_3_to_4})

VERIFICATION = Artifact(
    "verification", "verification report", layout.VERIFICATION_FILE, 1,
    ((1, "fd3e142: passed, atol, rtol, checks (label, source, shape, outputs with "
         "max_abs_diff, max_rel_diff, passed); unchanged since"),),
    VerificationError, "re-run 'shapeprof export'")

EXPORT_RECORD = Artifact(
    "export", "export record", layout.EXPORT_RECORD, 3,
    ((1, "fd3e142: shapeprof_version, model_type, task, opset, inputs, outputs, trace_shapes, "
         "dynamic_bounds, export_seconds, verification_passed, notes, versions"),
     (1, "f240149 (no bump): source; 'profile' from export --dataset"),
     (1, "cafb553 (no bump): files, and parts for encoder-decoders"),
     (2, "source and files always written; migrating 1 fills source null, files [model.onnx]"),
     (3, "config: 'registered' or 'derived' (from the model), and derivation (what was probed) for "
         "derived configs; migrating 2 fills config 'registered'")),
    ExportError, "re-export the model with 'shapeprof export'", {1: _export_1_to_2, 2: _export_2_to_3})

def _tune_1_to_2(d: dict[str, Any]) -> dict[str, Any]:
    """Version 1's error compared the replay with the search's cells (machine drift included); its
    round_error is the paired error version 2 reports, and the prediction it implies."""
    for replay in (d.get("proof") or {}).values():
        if not isinstance(replay, dict) or "passes_s" not in replay:
            continue                                           # the speedup
        replay["search_predicted_sequences_per_s"] = replay.pop("predicted_sequences_per_s")
        replay["search_error"] = replay["error"]
        if replay.get("round_error") is not None:
            replay["error"] = replay["round_error"]
        replay["error_low"], replay["error_high"] = replay.pop("round_error_low", None), \
            replay.pop("round_error_high", None)
        replay.pop("round_error", None)
        replay["predicted_sequences_per_s"] = replay["measured_sequences_per_s"] * (1.0 + replay["error"])
        replay.setdefault("predicted_s", [])
    return d


def _tune_2_to_3(d: dict[str, Any]) -> dict[str, Any]:
    """Version 2 predicted from the cells alone: a serving factor of 1."""
    for replay in (d.get("proof") or {}).values():
        if isinstance(replay, dict) and "passes_s" in replay:
            replay.setdefault("serving_factor", 1.0)
            replay.setdefault("cells_error", replay["error"])
    return d


GENERATION = Artifact(
    "generation", "generation checks", layout.GENERATION_FILE, 2,
    ((0, "16a5a8b: {checks: [label, batch_size, new_tokens, matching_tokens, passed]}, "
         "no schema_version"),
     (1, "schema_version and passed (every check passed) added"),
     (2, "checks' distinct_tokens (fewest distinct tokens transformers generated in a row; "
         "1 means a degenerate, repeated-token sequence); version-1 files read as null")),
    VerificationError, "re-run 'shapeprof export'", {0: _generation_0_to_1, 1: _generation_1_to_2},
    unversioned=0)

TUNE = Artifact(
    "tune", "tune results", layout.TUNE_FILE, 3,
    ((1, "shapeprof tune: options, environment, accuracy (metric, interval, drop per variant), "
         "pruned, candidates (prediction per candidate, baseline first), layouts, winner, proof "
         "(winner and baseline replays on held-out rows, speedup with interval), notes"),
     (2, "replays: error is paired with cells re-timed beside every pass (error_low/high; "
         "predicted_s per round); the search-time prediction is search_predicted_sequences_per_s "
         "and search_error; migrating 1 moves error there and round_error to error"),
     (3, "replays: serving_factor (measured / cells-predicted time serving the search rows) "
         "multiplies every prediction; cells_error is the error of the cells alone; version-2 "
         "files read serving_factor 1 and cells_error = error")),
    TuneError, "re-run 'shapeprof tune'", {1: _tune_1_to_2, 2: _tune_2_to_3})

DEPLOY = Artifact(
    "deploy", "deployment", layout.DEPLOY_FILE, 1,
    ((1, "shapeprof tune: model_file, variant, task, providers, session_options, sessions, batching "
         "(policy, window, bucket_edges), batch_size, max_length, inputs, output, pooling"),),
    TuneError, "re-run 'shapeprof tune'")

ARTIFACTS: dict[str, Artifact] = {a.kind: a for a in (PROFILE, MEDIA_PROFILE, BENCH, VERIFICATION,
                                                      EXPORT_RECORD, GENERATION, TUNE, DEPLOY)}


def artifact(kind: str) -> Artifact:
    try:
        return ARTIFACTS[kind]
    except KeyError:
        raise ValueError(f"unknown artifact {kind!r}; known: {', '.join(ARTIFACTS)}") from None


def current(kind: str) -> int:
    """The schema version this shapeprof writes for ``kind``."""
    return artifact(kind).version


# ---- loading -----------------------------------------------------------------------------------

def load(kind: str, source: str | Path | Mapping[str, Any],
         error: type[ShapeprofError] | None = None) -> dict[str, Any]:
    """The current-version dict of a ``kind`` artifact, from a path or a parsed mapping.

    ``error`` replaces the artifact's own error class (a later stage reading it).
    """
    art = artifact(kind)
    err = error or art.error
    if isinstance(source, (str, Path)):
        where = f"{art.noun} {str(source)!r}"
        data: Any = read_json(Path(source), art, err)
    else:
        where, data = art.noun, source
    if not isinstance(data, Mapping):
        raise err(f"{where} holds a JSON {_json_type(data)}, not an object; {art.remedy}")
    return upgrade(art, dict(data), where, err)


def read_json(path: Path, art: Artifact, err: type[ShapeprofError]) -> Any:
    """Parse ``path``; every failure is one line naming the file, never its bytes."""
    where = f"cannot read {art.noun} {str(path)!r}"
    text = read_text(path, where, err, art.remedy)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise err(f"{where}: not JSON ({e.msg} at line {e.lineno} column {e.colno}); "
                  f"{art.remedy}") from e
    except RecursionError as e:
        raise err(f"{where}: JSON nested too deeply; {art.remedy}") from e


def read_text(path: str | Path, where: str, err: type[ShapeprofError], remedy: str) -> str:
    """A non-empty UTF-8 file's text; every failure is one line, ``{where}: {what}; {remedy}``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise err(f"{where}: file not found; {remedy}") from e
    except IsADirectoryError as e:
        raise err(f"{where}: it is a directory; {remedy}") from e
    except UnicodeDecodeError as e:
        raise err(f"{where}: not UTF-8 text; {remedy}") from e
    except OSError as e:
        raise err(f"{where}: {e.strerror or type(e).__name__}; {remedy}") from e
    if not text.strip():
        raise err(f"{where}: the file is empty; {remedy}")
    return text


def known_fields(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``data`` that are fields of the dataclass ``cls``: a record's ``from_dict``
    ignores the extras other versions of its artifact carry."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def upgrade(art: Artifact | str, data: Mapping[str, Any], where: str | None = None,
            error: type[ShapeprofError] | None = None) -> dict[str, Any]:
    """Check ``data``'s version and migrate a copy of it to the current version."""
    art = artifact(art) if isinstance(art, str) else art
    err, where = error or art.error, where or art.noun
    version = _version(art, data, where, err)
    out = copy.deepcopy(dict(data))
    for v in range(version, art.version):
        try:
            out = art.migrations[v](out)
        except (KeyError, TypeError, AttributeError) as e:   # a field of the old layout is missing
            raise err(f"{where} is a malformed version-{v} {art.noun} file ({type(e).__name__}: {e}); "
                      f"{art.remedy}") from e
    out["schema_version"] = art.version
    return out


def _version(art: Artifact, data: Mapping[str, Any], where: str,
             err: type[ShapeprofError]) -> int:
    if "schema_version" not in data:
        if art.unversioned is not None:
            return art.unversioned
        raise err(f"{where} has no schema_version, so it is not a shapeprof {art.noun} file; "
                  f"{art.remedy}")
    raw = data["schema_version"]
    if isinstance(raw, bool) or not isinstance(raw, int):
        shown = repr(raw) if isinstance(raw, (str, float)) and len(repr(raw)) <= 20 else _json_type(raw)
        raise err(f"{where} has schema_version {shown}, not an integer; {art.remedy}")
    if raw > art.version:
        from . import __version__

        raise err(f"{where} has schema_version {raw}, but this shapeprof ({__version__}) reads "
                  f"versions up to {art.version}; upgrade shapeprof to read it")
    if raw < art.oldest:
        raise err(f"{where} has schema_version {raw}, older than any shapeprof wrote (the oldest "
                  f"is {art.oldest}); {art.remedy}")
    return raw


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
             float: "number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def history_table() -> str:
    """Markdown: one row per artifact and version, what changed."""
    rows = ["| artifact | file | version | what changed |", "|---|---|---:|---|"]
    for art in ARTIFACTS.values():
        for v, text in art.history:
            rows.append(f"| {art.kind} | {art.file} | {v} | {text} |")
    return "\n".join(rows)


__all__ = ["ARTIFACTS", "Artifact", "artifact", "current", "history_table", "load", "upgrade"]
