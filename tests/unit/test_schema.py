"""Versioned artifacts: files written by older shapeprof commits load, migrated, through the
public loaders; newer or broken files give one-line errors; current files round-trip.

The fixtures in tests/fixtures/schema were written by the old code itself (see its README):
``<artifact>-v<N>-<commit>.json`` is a file of schema version N as commit <commit> wrote it.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest

from shapeprof import schema
from shapeprof.bench.model_dir import open_model_dir
from shapeprof.bench.results import BenchResults
from shapeprof.errors import (BenchError, ExportError, ProfileError, ShapeprofError, TuneError,
                              VerificationError)
from shapeprof.export.generation import GenerationCheck, generation_record, load_generation_checks
from shapeprof.export.verify import VerificationReport
from shapeprof.profile import ShapeProfile
from shapeprof.profile.media import MediaProfile
from shapeprof.tune.result import TuneResult

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "schema"
NAME = re.compile(r"(?P<kind>[a-z_]+)-v(?P<version>\d+)-(?P<commit>[0-9a-f]{7})\.json")


def fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("*.json"))


def raw(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


# ---- what each old file must become -------------------------------------------------------------

def check_bench(path: Path) -> None:
    results = BenchResults.load(path)
    assert results.schema_version == schema.BENCH.version == 4
    assert results.cells[0].samples_ms == tuple(raw(path)["cells"][0]["samples_ms"])
    assert results.to_dict()["schema_version"] == 4
    assert results.reference is None and results.to_dict()["reference"] is None
    assert {(c.session_growth_mib, c.process_peak_rss_mib) for c in results.cells} == {(1.5, None)}
    assert len(results.to_dataframe()) == len(results.cells)
    commit = NAME.match(path.name)["commit"]
    onnx = results.cell("onnx", 1, 16)
    replay = results.replays[0]
    assert replay.measured_s == 0.011 and replay.passes_s == (0.011, 0.012)
    if commit == "f240149":                       # before phase, past_length, generation
        assert {(c.phase, c.past_length) for c in results.cells} == {("", 0)}
        assert results.generation == ()
    else:
        assert results.cell("onnx", 1, 1, "decode", 16).past_length == 16
        assert results.generation[0].ttft_ms == 3.0
    if commit in ("f240149", "285f95c"):          # sweep_* dropped, side-by-side unknown
        assert replay.side_by_side_s is None and replay.side_by_side_error is None
        assert "sweep_error" not in results.to_dict()["replays"][0]
    else:
        assert replay.side_by_side_s == 0.0108
    if commit in ("92d91e6", "bd6470a", "b976980", "b81fe5a"):   # rounds recorded: paired speedups
        assert onnx.round_sizes == (3, 3)
        df = results.to_dataframe()
        row = df[(df.variant == "onnx") & (df.batch_size == 1) & (df.sequence_length == 16)].iloc[0]
        assert row.speedup_vs_pytorch_low <= row.speedup_vs_pytorch <= row.speedup_vs_pytorch_high
    else:
        assert onnx.round_sizes == ()
        assert results.to_dict()["cells"][0]["round_sizes"] == []
    assert (replay.round_error == -0.02) if commit in ("bd6470a", "b976980", "b81fe5a") else replay.round_error is None


def check_profile(path: Path) -> None:
    profile = ShapeProfile.load(path)
    assert profile.schema_version == schema.PROFILE.version == 2
    commit = NAME.match(path.name)["commit"]
    rows = 8 if commit == "b81fe5a" else 12       # b81fe5a: a sample of 8 of the 12 rows
    assert sum(profile.length_counts().values()) == profile.dataset.rows_sampled == rows
    assert profile.dataset.rows_total == 12
    assert profile.model.model_type == "gpt2" and profile.batch_sizes == (1, 4)
    assert profile.bounds()["sequence_length"] == ((1, 12) if rows == 12 else (1, 10))
    # version 1 had no intervals: "unknown", never "exact" (even for all rows) nor invented
    assert profile.uncertainty.status == "unknown" and not profile.uncertainty.sampled
    assert profile.uncertainty.percentile("sequence_length", "p99") is None
    assert "unknown" in profile.summary() and "95% interval [" not in profile.summary()
    migrated = {**raw(path), "schema_version": 2, "uncertainty": {"status": "unknown"}}
    assert schema.load("profile", path) == migrated   # only the version and the status change
    assert {**profile.to_dict(), "uncertainty": {"status": "unknown"}} == migrated


def check_media_profile(path: Path) -> None:
    profile = MediaProfile.load(path)
    assert profile.schema_version == 2 and profile.batch_sizes == (1, 8)
    assert profile.uncertainty.status == "unknown" and "unknown" in profile.summary()
    if profile.modality == "image":
        assert profile.static_axes() == {"height": 224, "width": 224}
    else:
        assert profile.modality == "text+image" and profile.model["tokenizer_class"]
        assert profile.bounds()["sequence_length"] == (5, 9)
    assert profile.to_dict() == {**raw(path), "schema_version": 2, "uncertainty": {
        "status": "unknown", "note": "written before shapeprof recorded intervals (profile schema 1): unknown"}}


def check_verification(path: Path) -> None:
    report = VerificationReport.load(path)
    assert report.passed and (report.atol, report.rtol) == (1e-4, 1e-3)
    assert [c.label for c in report.checks] == ["trace", "max"]
    assert report.checks[1].outputs[0].shape == (4, 64, 32)
    assert json.loads(json.dumps(report.to_dict())) == raw(path)


def check_export(path: Path, tmp_path: Path) -> None:
    commit = NAME.match(path.name)["commit"]
    record = schema.load("export", path)
    assert record["schema_version"] == 3 and record["files"] == ["model.onnx"]
    assert record["config"] == "registered"           # every config was registered before version 3
    assert record["source"] == (None if commit == "fd3e142" else "tiny-bert")
    assert ("profile" in record) == (commit == "f240149")
    model_dir = tmp_path / "exported"                 # the bench reads the record of an export
    model_dir.mkdir()
    for name in ("model.onnx", "config.json"):
        (model_dir / name).write_text("{}")
    shutil.copy(path, model_dir / "shapeprof_export.json")
    opened = open_model_dir(model_dir)
    assert opened.task == "feature-extraction" and opened.source == record["source"]
    assert opened.max_length == 512 and opened.verification_passed is True


def check_generation(path: Path) -> None:
    checks = load_generation_checks(path)
    assert [(c.label, c.matching_tokens, c.passed) for c in checks] == [
        ("batch 1", 20, True), ("batch 3, left-padded", 12, False)]
    assert all(c.distinct_tokens is None and not c.degenerate for c in checks)  # not recorded then
    data = schema.load("generation", path)
    assert data["schema_version"] == 2 and data["passed"] is False


def check_tune(path: Path) -> None:
    old = raw(path)["proof"]
    result = TuneResult.load(path)
    assert result.to_dict()["schema_version"] == schema.TUNE.version == 3
    for name in ("winner", "baseline"):
        was, now = old[name], getattr(result.proof, name)
        if raw(path)["schema_version"] == 1:
            assert now.search_predicted_sequences_per_s == was["predicted_sequences_per_s"]
            assert now.search_error == was["error"] and now.predicted_s == ()
            assert (now.error, now.error_low, now.error_high) == (was["round_error"], was["round_error_low"],
                                                                  was["round_error_high"])
            assert now.predicted_sequences_per_s == pytest.approx(was["measured_sequences_per_s"]
                                                                  * (1 + was["round_error"]))
        else:
            assert (now.error, now.predicted_s) == (was["error"], tuple(was["predicted_s"]))
        assert now.passes_s == tuple(was["passes_s"]) and now.flagged == (abs(now.error) > 0.10)
        assert now.serving_factor == 1.0 and now.cells_error == now.error    # the cells alone, then
    assert result.proof.speedup == old["speedup"]
    assert TuneResult.from_dict(result.to_dict()) == result


CHECKS: dict[str, Callable[..., None]] = {
    "bench": check_bench, "profile": check_profile, "media_profile": check_media_profile,
    "verification": check_verification, "export": check_export, "generation": check_generation,
    "tune": check_tune}


@pytest.mark.parametrize("path", fixtures(), ids=lambda p: p.stem)
def test_old_files_load_migrated(path: Path, tmp_path: Path) -> None:
    m = NAME.match(path.name)
    assert m, f"fixture {path.name} does not follow <artifact>-v<N>-<commit>.json"
    assert raw(path).get("schema_version", 0) == int(m["version"])
    check = CHECKS[m["kind"]]
    check(path, tmp_path) if m["kind"] == "export" else check(path)


def test_every_older_version_has_a_fixture_and_a_migration() -> None:
    found = {(m["kind"], int(m["version"])) for m in map(NAME.match, (p.name for p in fixtures()))}
    for art in schema.ARTIFACTS.values():
        versions = [v for v, _ in art.history]
        assert versions == sorted(versions) and versions[-1] == art.version, art.kind
        for v in range(art.oldest, art.version):
            assert v in art.migrations, (art.kind, v)
            assert (art.kind, v) in found, f"no fixture of {art.kind} version {v}"
        assert {(art.kind, v) for v in versions} <= found | {(art.kind, art.version)}


# ---- newer and broken files ----------------------------------------------------------------

LOADERS: dict[str, tuple[Callable[[Path], Any], type[ShapeprofError]]] = {
    "bench": (BenchResults.load, BenchError),
    "profile": (ShapeProfile.load, ProfileError),
    "media_profile": (MediaProfile.load, ProfileError),
    "verification": (VerificationReport.load, VerificationError),
    "generation": (load_generation_checks, VerificationError),
    "export": (lambda p: schema.load("export", p), ExportError),
    "tune": (TuneResult.load, TuneError),
}


def newest_fixture(kind: str) -> Path:
    return [p for p in fixtures() if p.name.startswith(kind + "-")][-1]


@pytest.mark.parametrize("kind", list(LOADERS))
def test_a_file_from_a_newer_shapeprof_names_both_versions(kind: str, tmp_path: Path) -> None:
    loader, error = LOADERS[kind]
    current = schema.current(kind)
    data = schema.load(kind, newest_fixture(kind))
    data["schema_version"] = current + 1
    path = tmp_path / "future.json"
    path.write_text(json.dumps(data))
    with pytest.raises(error) as info:
        loader(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert f"schema_version {current + 1}" in message and f"versions up to {current}" in message
    assert "upgrade shapeprof" in message


BROKEN = {
    "empty": (b"", "empty"),
    "blank": (b"  \n", "empty"),
    "not json": (b"\x89PNG\r\n\x1a\n secret-bytes", "not UTF-8"),
    "bad json": (b'{"schema_version": 1, secret-bytes', "not JSON"),
    "array": (b"[1, 2]", "JSON array, not an object"),
    "no version": (b'{"cells": []}', "has no schema_version"),
    "string version": (b'{"schema_version": "2"}', "schema_version '2', not an integer"),
    "long string version": (b'{"schema_version": "secret-bytes secret-bytes"}', "string, not an integer"),
    "bool version": (b'{"schema_version": true}', "schema_version boolean, not an integer"),
    "zero version": (b'{"schema_version": 0}', "schema_version 0, older than any"),
}


@pytest.mark.parametrize("kind", ["bench", "profile", "verification", "export"])
@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_files_give_one_line_naming_the_file(kind: str, case: str, tmp_path: Path) -> None:
    loader, error = LOADERS[kind]
    content, needle = BROKEN[case]
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(error) as info:
        loader(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and needle in message, message
    assert "secret" not in message and "PNG" not in message          # no raw bytes echoed


def test_generation_files_without_a_version_are_version_0(tmp_path: Path) -> None:
    (tmp_path / "g.json").write_text('{"checks": []}')
    assert load_generation_checks(tmp_path / "g.json") == ()
    with pytest.raises(BenchError, match="file not found"):
        BenchResults.load(tmp_path / "missing.json")


def test_from_dict_migrates_without_touching_its_argument() -> None:
    data = raw(FIXTURES / "bench-v1-f240149.json")
    before = json.dumps(data, sort_keys=True)
    assert BenchResults.from_dict(data).schema_version == 4
    assert json.dumps(data, sort_keys=True) == before


# ---- current files round-trip --------------------------------------------------------------

def test_current_files_round_trip(tmp_path: Path) -> None:
    results = BenchResults.load(FIXTURES / "bench-v1-bd6470a.json")
    assert BenchResults.load(results.save(tmp_path / "bench.json")) == results
    profile = ShapeProfile.load(FIXTURES / "profile-v1-f240149.json")
    assert ShapeProfile.load(profile.save(tmp_path / "profile.json")) == profile
    extra = {**profile.to_dict(), "generation_workload": {"prompt_length": {}}}   # another stage's key
    assert ShapeProfile.from_dict(extra) == profile
    media = MediaProfile.load(FIXTURES / "media_profile-v1-285f95c.json")
    assert MediaProfile.load(media.save(tmp_path / "media.json")).to_dict() == media.to_dict()
    report = VerificationReport.load(FIXTURES / "verification-v1-fd3e142.json")
    report.save(tmp_path / "verification.json")
    assert VerificationReport.load(tmp_path / "verification.json") == report
    checks = (GenerationCheck("batch 1", 1, 20, 20, True, 7),)
    (tmp_path / "generation.json").write_text(json.dumps(generation_record(checks)))
    assert load_generation_checks(tmp_path / "generation.json") == checks
    record = schema.load("export", FIXTURES / "export-v1-cafb553.json")
    assert schema.load("export", record) == record
    derived = {**record, "config": "derived"}
    assert schema.load("export", derived)["config"] == "derived"


def test_history_is_written_for_every_artifact() -> None:
    table = schema.history_table()
    for art in schema.ARTIFACTS.values():
        assert art.file in table and all(text for _, text in art.history)
    assert "round_sizes" in "".join(schema.BENCH.changes(1))
    with pytest.raises(ValueError, match="unknown artifact"):
        schema.current("nope")
