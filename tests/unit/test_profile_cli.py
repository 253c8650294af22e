"""``shapeprof profile`` through the real command line and through ``run``."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from shapeprof.commands import profile as command
from shapeprof.errors import DataError


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "shapeprof", "profile", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def parse(*args):
    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers())
    return parser.parse_args(["profile", *args])


def test_cli_writes_profile_and_prints_summary(glue_dir, tmp_path):
    out = tmp_path / "sub" / "profile.json"
    done = cli("--dataset", "glue/mrpc", "--data-dir", str(glue_dir), "--rows", "100",
               "--buckets", "2", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "shape profile of glue/mrpc [validation]" in done.stdout
    assert "--minShapes=input_ids:1x" in done.stdout and "trt_profile_min_shapes=" in done.stdout
    data = json.loads(out.read_text())
    assert data["dataset"]["rows_sampled"] == 100 and data["buckets"]["k"] == 2
    assert not list(out.parent.glob(".*.tmp"))
    sure = data["uncertainty"]                     # 100 of 408 rows: intervals, methods stated
    assert sure["status"] == "sample" and sure["population_rows"] == 408
    assert "order-statistic" in sure["percentile_method"] and "bootstrap" in sure["waste_method"]
    assert "how sure: a sample of 100 of 408 rows; 95% intervals" in done.stdout
    assert "  95% interval " in done.stdout and "p99 within +-1 token:" in done.stdout


@pytest.mark.parametrize("args,fragment", [
    (["--dataset", "glue/sst3"], "unknown GLUE task 'sst3'"),
    (["--text-columns", "label"], "holds int64, not text"),
    (["--text-columns", "nope"], "available columns: sentence, label"),
])
def test_cli_errors_are_one_line_exit_2(glue_dir, tmp_path, args, fragment):
    out = tmp_path / "p.json"
    done = cli("--data-dir", str(glue_dir), *args, "-o", str(out))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and fragment in done.stderr
    assert done.stderr.startswith("data error:") and not out.exists()


def test_run_streaming_data_files(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("id,body\n" + "".join(f"{i},text number {i} {'x ' * (i % 9)}\n" for i in range(300)))
    out = tmp_path / "p.json"
    assert command.run(parse("--data-files", str(path), "--streaming", "--rows", "50", "-q",
                             "--batch-sizes", "2,4", "-o", str(out))) == 0
    printed = capsys.readouterr().out
    assert "text columns: body" in printed and "reservoir sample" in printed
    data = json.loads(out.read_text())
    assert data["batch_sizes"] == [2, 4]
    assert (data["uncertainty"]["status"], data["uncertainty"]["population_rows"]) == ("sample", 300)
    assert command.run(parse("--data-files", str(path), "--streaming", "-q", "-o", str(out))) == 0
    assert "how sure: every row was profiled: the values are exact" in capsys.readouterr().out
    assert json.loads(out.read_text())["uncertainty"]["status"] == "exact"


def test_run_raises_data_error_for_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        command.run(parse("--data-files", str(tmp_path / "none.parquet"), "-q"))


def test_bad_batch_sizes_are_refused_by_argparse():
    with pytest.raises(SystemExit):
        parse("--batch-sizes", "0,8")
