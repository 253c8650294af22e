"""tune.json round trip and versioning, tune.md (baseline first, accuracy side by side, a missed
prediction flagged), tune.html, and the closing summary, on a synthetic result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shapeprof.errors import TuneError
from shapeprof.tune.batching import Batching
from shapeprof.tune.candidates import Candidate, Layout, Prediction
from shapeprof.tune.page import render
from shapeprof.tune.proof import Replay
from shapeprof.tune.report import markdown, summary
from shapeprof.tune.result import Proof, Row, TuneResult
from shapeprof.tune.scoring import AccuracyRow

BASE = Candidate("onnx", Batching("longest"), 32, Layout(1, 0), default_session=True)
WIN = Candidate("int8", Batching("window", window=256), 64, Layout(2, 1))


def replay(label: str, predicted: float, measured: float, half: float = 0.03) -> Replay:
    error = predicted / measured - 1
    return Replay(label, 436, 14, predicted, measured, error, error - half, error + half, predicted * 1.3,
                  predicted * 1.3 / measured - 1, 50.0, 90.0, 52.0, 95.0, 90 / 95 - 1, (1.0, 1.1, 0.9),
                  (0.95, 1.0, 1.0), 120.0, 1.08, error + 0.08)


def result(winner_measured: float = 1050.0) -> TuneResult:
    rows = (Row(BASE, Prediction(200, 150, 300, 14, 5000), 0.0, None, True, baseline=True),
            Row(WIN, Prediction(1100, 60, 120, 7, 800), 0.3, 64.0, True),
            Row(Candidate("onnx", Batching("window", window=256), 32, Layout(1, 2)),
                Prediction(400, 80, 160, 14, 900), 0.0, 90.0, True))
    accuracy = (AccuracyRow("onnx", "spearman x100", 86.7, 85.9, 87.5, 0.0, None, None, True),
                AccuracyRow("int8", "spearman x100", 86.4, 85.6, 87.2, 0.3, 0.1, 0.5, True),
                AccuracyRow("static-int8", "spearman x100", 84.0, 83.0, 85.0, 2.7, 2.2, 3.1, False))
    proof = Proof(replay(WIN.label, 1100, winner_measured), replay(BASE.label, 200, 190),
                  {"ratio": 5.5, "low": 5.1, "high": 5.9, "rounds": 3})
    return TuneResult({"path": "m", "model_type": "bert", "task": "feature-extraction"},
                      {"dataset": {"name": "glue/sst2"}, "rows": 872, "search_rows": 436, "held_out_rows": 436},
                      {"max_accuracy_drop": 0.5, "slo_ms": None, "slo_p99_ms": None},
                      {"intra_op_threads": 2, "cpu": "x"}, accuracy, rows, rows[1], proof,
                      {"optimized": "predicted 100 seq/s, below 85% of the best (400)"}, {}, {"model_file": "m.onnx"},
                      300.0, ("a note",))


def test_round_trip_through_tune_json(tmp_path) -> None:
    r = result()
    path = r.save(tmp_path / "tune.json")
    assert json.loads(path.read_text())["schema_version"] == 3
    assert TuneResult.load(path) == r


def test_a_newer_tune_json_is_refused_in_one_line(tmp_path) -> None:
    data = result().to_dict()
    data["schema_version"] = 4
    (tmp_path / "t.json").write_text(json.dumps(data))
    with pytest.raises(TuneError, match="versions up to 3"):
        TuneResult.load(tmp_path / "t.json")


def test_markdown_puts_the_baseline_first_and_shows_accuracy_side_by_side() -> None:
    md = markdown(result())
    assert md.index("| baseline | onnx, pad to longest") < md.index("| 1 | **int8")
    assert "| static-int8 | spearman x100 | 84.00 | 83.00..85.00 | 2.70 | 2.20..3.10 | REJECTED |" in md
    assert "5.50x** (95%: 5.10-5.90, 3 paired rounds)" in md and "FLAGGED" not in md
    assert "- optimized: predicted 100 seq/s" in md


def test_markdown_shows_the_layouts_served_to_choose_the_winner() -> None:
    r = result()
    assert "Best of each thread layout" not in markdown(r)
    served = {"candidates": [WIN.to_dict(), {**WIN.to_dict(), "batch_size": 8, "sessions": 1, "threads": 2}],
              "measured_sequences_per_s": [1010.0, 640.0]}
    md = markdown(TuneResult(**{**r.__dict__, "layouts": served}))
    assert f"{WIN.variant}, batch {WIN.batch_size}, {WIN.layout.sessions} x {WIN.layout.threads}: 1,010 seq/s" in md
    assert f"{WIN.variant}, batch 8, 1 x 2: 640 seq/s." in md


def test_a_replay_off_by_more_than_10_percent_is_flagged_everywhere() -> None:
    r = result(winner_measured=900.0)                # predicted 1100: +22%
    assert r.proof.winner.flagged and not result().proof.winner.flagged
    assert "**FLAGGED**: the winner's replay misses its prediction by +22.2%" in markdown(r)
    assert "FLAGGED" in summary(r, "tune") and json.loads(json.dumps(r.to_dict()))["proof"]["winner"]["flagged"]
    # the search-time prediction (30% above: drift since the search) is shown, not flagged on
    # the serving factor and the error of the cells alone beside it
    assert "| winner | 1,100 | 1,050 | +4.8% (+1.8%..+7.8%) | 1.080 | +12.8% | 1,430 (+36.2%) |" in markdown(result())


def test_an_error_within_10_percent_with_a_wide_interval_says_so() -> None:
    r = result()
    wide = Proof(replay(WIN.label, 1100, 1050, half=0.09), r.proof.baseline, r.proof.speedup)
    assert result().proof.winner.settled and not wide.winner.settled and not wide.winner.flagged
    md = markdown(TuneResult(**{**r.__dict__, "proof": wide}))
    assert "interval (-4.2%..+13.8%) reaches past it: more --proof-rounds would settle it" in md
    assert "FLAGGED" not in md


def test_the_page_renders_every_table() -> None:
    page = render(markdown(result()))
    assert page.startswith("<!DOCTYPE html>") and page.count("<table>") == 3
    assert "<strong>int8, sorted in windows of 256" in page and "<script" not in page


REPORT_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "report"


def test_the_html_report_carries_the_tune_as_a_section(tmp_path, capsys) -> None:
    from shapeprof.cli import main

    tune_dir = tmp_path / "tune"
    tune_dir.mkdir()
    result().save(tune_dir / "tune.json")
    out = tmp_path / "report.html"
    assert main(["report", str(REPORT_FIXTURES / "bench-text.json"), "--tune", str(tune_dir), "-o", str(out)]) == 0
    page = out.read_text()
    section = page[page.index('<section id="tune">'):]
    assert '<a href="#tune">Tune</a>' in page and section.startswith('<section id="tune">\n<h2>shapeprof tune</h2>')
    assert "<h3>Proof: replay on held-out rows</h3>" in section and section.count("<table>") == 3
    assert "<strong>5.50x</strong> (95%: 5.10-5.90, 3 paired rounds)" in section
    assert page.count("<!DOCTYPE html>") == 1 and "<script" not in page
    without = tmp_path / "plain.html"
    assert main(["report", str(REPORT_FIXTURES / "bench-text.json"), "-o", str(without)]) == 0
    assert 'id="tune"' not in without.read_text()
    capsys.readouterr()
    assert main(["report", str(REPORT_FIXTURES / "bench-text.json"), "--tune", str(tmp_path / "nope"),
                 "-o", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "nope" in err and not (tmp_path / "x.html").exists()
