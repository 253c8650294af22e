"""The HTML report, built from real results of tiny models (tests/fixtures/report/make.py): every
plot the results have data for is on the page, and carries the results' own numbers."""

from __future__ import annotations

import dataclasses
import math
import re

import pytest
from support import REPO, read_report

from shapeprof.bench.report import fmt
from shapeprof.bench.results import BenchResults
from shapeprof.bench.stats import median_interval
from shapeprof.cli import main
from shapeprof.regression import compare_results
from shapeprof.report import report_html, write_report
from shapeprof.report.figures import COLOURS

FIXTURES = REPO / "tests" / "fixtures" / "report"
OLD = sorted((REPO / "tests" / "fixtures" / "schema").glob("bench-*.json"))


def load(name: str) -> BenchResults:
    return BenchResults.load(FIXTURES / f"bench-{name}.json")


def page(results: BenchResults, **kwargs) -> dict:
    return read_report(report_html(results, **kwargs))


def close(a: list, b: list) -> bool:
    return len(a) == len(b) and all(math.isclose(x, y, rel_tol=1e-9) for x, y in zip(a, b))


def check_curves(series: list[dict], cells: list) -> None:
    """Each (variant, batch) line: the cells' x values in order, their medians and intervals."""
    assert {(s["variant"], s["batch_size"]) for s in series} == {(c.variant, c.batch_size) for c in cells}
    for s in series:
        mine = sorted((c for c in cells if (c.variant, c.batch_size) == (s["variant"], s["batch_size"])),
                      key=lambda c: c._x)
        assert s["x"] == [c._x for c in mine]
        assert close(s["p50_ms"], [c.stats.p50 for c in mine])
        assert close(s["low_ms"], [median_interval(c.samples_ms)[0] for c in mine])
        assert all(lo <= p <= hi for lo, p, hi in zip(s["low_ms"], s["p50_ms"], s["high_ms"]))


class X:
    """A cell with the x value a plot puts it at."""

    def __init__(self, cell, x: int) -> None:
        self._cell, self._x = cell, x

    def __getattr__(self, name):
        return getattr(self._cell, name)


# ---- a text model: profile, PyTorch, policies, replay --------------------------------------
@pytest.fixture(scope="module")
def text() -> tuple[BenchResults, dict]:
    results = load("text")
    return results, page(results)


def test_text_page_has_its_plots_and_no_generation(text):
    _, got = text
    assert list(got["plots"]) == ["latency", "heatmap", "speedup", "policies"]
    assert all(p["svg"] == 1 for p in got["plots"].values())


def test_latency_curves_are_the_cells_medians_over_the_datas_histogram(text):
    results, got = text
    plot = got["plots"]["latency"]
    check_curves(plot["series"]["series"], [X(c, c.sequence_length) for c in results.cells])
    counts = results.settings["profile"]["length_counts"]
    histogram = plot["series"]["histogram"]
    assert dict(zip(map(str, histogram["x"]), histogram["rows"])) == counts
    assert {"batch 1", "batch 4", "onnx", "optimized", "pytorch", "rows"} <= set(plot["svg_text"])


def test_heatmap_holds_and_writes_every_cells_median(text):
    results, got = text
    plot = got["plots"]["heatmap"]
    panels = {p["variant"]: p for p in plot["series"]["panels"]}
    assert set(panels) == {"onnx", "optimized", "pytorch"}
    for c in results.cells:
        p = panels[c.variant]
        value = p["p50_ms"][p["batch_sizes"].index(c.batch_size)][p["x"].index(c.sequence_length)]
        assert math.isclose(value, c.stats.p50)
        assert fmt(c.stats.p50) in plot["svg_text"]      # written in its square of the SVG


def test_speedup_is_the_paired_ratio_per_cell_coloured_by_verdict(text):
    results, got = text
    plot = got["plots"]["speedup"]
    df = results.to_dataframe()
    ort = df[df["runtime"] == "onnxruntime"]
    for s in plot["series"]["series"]:
        rows = ort[ort["variant"] == s["variant"]].sort_values(["batch_size", "sequence_length"])
        assert s["cells"] == [f"{r.batch_size}x{r.sequence_length}" for r in rows.itertuples()]
        assert close(s["ratio"], list(rows["speedup_vs_pytorch"]))
        for lo, hi, verdict in zip(s["low"], s["high"], s["verdict"]):
            assert verdict == ("faster" if lo > 1 else "slower" if hi < 1 else "tie")
        assert {COLOURS[v] for v in s["verdict"]} <= plot["colours"]
    assert {s["variant"] for s in plot["series"]["series"]} == {"onnx", "optimized"}
    assert "1x128" in plot["svg_text"]


def test_policies_are_the_expected_throughputs_and_the_replays(text):
    results, got = text
    plot = got["plots"]["policies"]
    for s in plot["series"]["series"]:
        expected = {e.label: e.sequences_per_s for e in results.expected if e.variant == s["variant"]}
        assert close(s["sequences_per_s"], [expected[label] for label in s["labels"]])
        replayed = {r.label: r.rows / r.measured_s for r in results.replays if r.variant == s["variant"]}
        assert [m and round(m, 6) for m in s["measured_sequences_per_s"]] == [
            replayed.get(label) and round(replayed[label], 6) for label in s["labels"]]
    labels = {e.label for e in results.expected}
    assert labels <= set(plot["svg_text"]) and len(labels) == 5


# ---- generation, image, audio ----------------------------------------------------------------
def test_generation_page_plots_ttft_by_prompt_and_ms_per_token_by_past():
    results = load("generation")
    got = page(results)
    assert list(got["plots"]) == ["generation"]
    data = got["plots"]["generation"]["series"]
    check_curves(data["prefill"], [X(c, c.sequence_length) for c in results.cells if c.phase == "prefill"])
    check_curves(data["decode"], [X(c, c.past_length) for c in results.cells if c.phase == "decode"])
    assert data["expected"] == [g.to_dict() for g in results.generation]
    counts = results.settings["profile"]["length_counts"]
    assert dict(zip(map(str, data["histogram"]["x"]), data["histogram"]["rows"])) == counts
    text = got["plots"]["generation"]["svg_text"]
    assert {"time to first token (ms)", "past length (cached tokens)", "prompt length (tokens)"} <= set(text)


@pytest.mark.parametrize("name, label, ticks", [("image", "image size (pixels, shown as HxW)", True),
                                                ("audio", "audio length (samples)", False)])
def test_media_pages_plot_latency_against_the_media_size(name, label, ticks):
    results = load(name)
    got = page(results)
    assert list(got["plots"]) == ["latency", "heatmap", "speedup"]
    latency = got["plots"]["latency"]
    check_curves(latency["series"]["series"], [X(c, c.sequence_length) for c in results.cells])
    assert latency["series"]["x_label"] == label and "histogram" not in latency["series"]
    shapes = {"x".join(map(str, spec[1:])) for spec in results.settings["cells"]}
    if ticks:   # pixels per image plotted, labelled HxW as measured
        assert shapes <= set(latency["svg_text"])
        assert {h * w for _, h, w in results.settings["cells"]} == {
            x for s in latency["series"]["series"] for x in s["x"]}
    for c in results.cells:
        assert fmt(c.stats.p50) in got["plots"]["heatmap"]["svg_text"]


# ---- a comparison --------------------------------------------------------------------------
def slowed(results: BenchResults, factor: float, batch: int) -> BenchResults:
    """The run with every onnx cell of one batch size ``factor`` times slower."""
    cells = tuple(dataclasses.replace(c, samples_ms=tuple(s * factor for s in c.samples_ms))
                  if (c.variant, c.batch_size) == ("onnx", batch) else c for c in results.cells)
    return dataclasses.replace(results, cells=cells)


def test_comparison_plots_each_cells_ratio_coloured_by_verdict():
    base = load("text")
    candidate = slowed(load("text-b"), 3.0, 4)
    cmp = compare_results(base.to_dict(), candidate.to_dict())
    got = page(candidate, comparison=cmp, names=("base.json", "candidate.json"))
    assert list(got["plots"]) == ["comparison", "latency", "heatmap", "speedup", "policies"]
    plot = got["plots"]["comparison"]
    rows = {r["cell"]: r for r in plot["series"]["cells"]}
    assert set(rows) == {c.label for c in cmp.cells} and len(rows) == len(base.cells)
    for c in cmp.cells:
        assert math.isclose(rows[c.label]["ratio"], c.test.ratio) and rows[c.label]["verdict"] == c.verdict
    slow = [r for label, r in rows.items() if label.startswith("onnx 4x")]
    assert slow and all(r["verdict"] == "regression" and r["ratio"] > 2 for r in slow)
    assert {COLOURS[r["verdict"]] for r in rows.values()} <= plot["colours"]
    assert COLOURS["regression"] in plot["colours"] and "regression" in plot["svg_text"]
    assert plot["series"]["verdict"] == "REGRESSION" and "REGRESSION: candidate.json against base.json" in got["text"]


# ---- the page as a whole -------------------------------------------------------------------
@pytest.mark.parametrize("name", ["text", "generation", "image", "audio"])
def test_page_is_self_contained(name):
    got = page(load(name), notes=("an A/A run",))
    assert "http://" not in got["text"] and "https://" not in got["text"]
    assert all(link.startswith(("#", "data:")) for link in got["links"]), set(got["links"])
    assert not {"script", "link", "iframe", "object"} & got["tags"]
    assert "@import" not in got["text"] and not re.search(r"url\((?!#)", got["text"])   # only clip paths
    assert "note: an A/A run" in got["text"]


def test_old_results_of_every_schema_version_still_make_a_page():
    for path in OLD:
        results = BenchResults.load(path)
        got = page(results)
        assert "latency" in got["plots"] and "heatmap" in got["plots"], path.name
        assert ("generation" in got["plots"]) == any(c.phase for c in results.cells), path.name


def test_the_page_is_deterministic():
    results = load("image")
    assert report_html(results) == report_html(results)


# ---- the command -----------------------------------------------------------------------------
def test_report_command_writes_the_page_with_a_comparison(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", str(FIXTURES / "bench-text-b.json"), str(FIXTURES / "bench-text.json"),
                 "-o", str(out)]) == 0
    got = read_report(out)
    assert next(iter(got["plots"])) == "comparison" and "latency" in got["plots"]
    assert f"wrote {out}" in capsys.readouterr().out


@pytest.mark.parametrize("content, message", [
    (None, "file not found"), ("{", "not JSON"), ('{"schema_version": 2, "kind": "shapeprof.bench"}',
                                                 "malformed")])
def test_report_command_refuses_bad_results_in_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    assert main(["report", str(path), "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("report error: ") and message in err[0]
    assert not (tmp_path / "r.html").exists()


def test_report_command_checks_the_output_before_reading(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing.json"), "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("report error: --output") and "is a directory" in err


def test_write_report_is_atomic_and_returns_the_path(tmp_path):
    path = write_report(load("audio"), tmp_path / "a.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["a.html"]
