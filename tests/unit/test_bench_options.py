"""BenchOptions: one set of defaults, every value checked in one place; write_all's three files."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

from shapeprof.bench.options import BenchOptions
from shapeprof.bench.results import BenchResults
from shapeprof.bench.runner import TimingPolicy
from shapeprof.errors import BenchError
from test_bench_results import make_results


def test_defaults_are_the_clis_and_the_timing_policys():
    options = BenchOptions()
    assert (options.warmup, options.min_samples, options.min_time_s, options.rounds) == (3, 4, 0.1, 5)
    assert options.timing() == TimingPolicy()
    assert options.variants == ("onnx",) and options.pytorch and options.flush_denormals


def test_the_cli_builds_the_same_defaults():
    from shapeprof.cli import build_parser

    args = build_parser().parse_args(["bench", "some-dir"])
    assert BenchOptions.from_args(args) == BenchOptions()
    args = build_parser().parse_args(["bench", "d", "-b", "1,8", "-s", "16", "--rounds", "2", "--threads", "1",
                                      "--policies", "longest,sorted", "--no-pytorch", "--image-sizes", "32"])
    options = BenchOptions.from_args(args)
    assert options.batch_sizes == (1, 8) and options.sequence_lengths == (16,) and options.rounds == 2
    assert options.policies == ("longest", "sorted") and not options.pytorch
    assert options.image_sizes == ((32, 32),) and options.intra_op_threads == 1


def test_lists_become_tuples_and_the_options_stay_hashable():
    options = BenchOptions(batch_sizes=[1, 4], variants=["onnx", "int8"], image_sizes=[[32, 48], 64])
    assert options.batch_sizes == (1, 4) and options.variants == ("onnx", "int8")
    assert options.image_sizes == ((32, 48), (64, 64))
    assert hash(options) == hash(BenchOptions(batch_sizes=(1, 4), variants=("onnx", "int8"),
                                              image_sizes=((32, 48), (64, 64))))


@pytest.mark.parametrize("change, needle", [
    ({"rounds": 0}, "--rounds must be an integer >= 1"),
    ({"rounds": 1.5}, "--rounds must be an integer"),
    ({"warmup": -1}, "--warmup must be an integer >= 0"),
    ({"min_samples": 0}, "--min-samples must be an integer >= 1"),
    ({"min_time_s": -0.5}, "--min-time must be a number of seconds >= 0"),
    ({"min_time_s": "fast"}, "--min-time must be a number"),
    ({"intra_op_threads": -1}, "--threads must be an integer >= 0"),
    ({"replay_rows": -1}, "--replay must be an integer >= 0"),
    ({"replay_repeats": 0}, "replay_repeats must be an integer >= 1"),
    ({"new_tokens": 0}, "--new-tokens must be an integer >= 1"),
    ({"policy_batch_size": 0}, "--policy-batch-size must be an integer >= 1"),
    ({"seed": -1}, "seed must be an integer >= 0"),
    ({"batch_sizes": [1, 0]}, "--batch-sizes must be an integer >= 1"),
    ({"sequence_lengths": "16"}, "--sequence-lengths must be a list"),
    ({"image_sizes": [(0, 32)]}, "--image-sizes has 0x32"),
    ({"variants": ("fp8",)}, "unknown variant 'fp8'"),
    ({"variants": ()}, "no variants to time"),
    ({"graph_optimization": "max"}, "--graph-optimization 'max' is unknown"),
    ({"providers": ()}, "--providers is empty"),
])
def test_a_bad_value_is_one_line_naming_the_option(change, needle):
    with pytest.raises(BenchError, match=needle) as info:
        BenchOptions(**change)
    assert str(info.value).startswith("bench error: ") and "\n" not in str(info.value)
    with pytest.raises(BenchError, match=needle):
        BenchOptions().replace(**change)             # a copy is checked again


def test_from_mapping_takes_field_names_only():
    options = BenchOptions.from_mapping({"rounds": 2, "batch_sizes": [1]}, progress=False)
    assert options == BenchOptions(rounds=2, batch_sizes=(1,)) and not options.progress
    assert BenchOptions.from_mapping(options) is options and BenchOptions.from_mapping(None) == BenchOptions()
    with pytest.raises(BenchError, match="unknown benchmark option 'round'"):
        BenchOptions.from_mapping({"round": 2})


def test_media_options_refuse_text_only_ones_and_the_other_modalitys_sizes():
    from shapeprof.bench.media import media_sizes

    assert media_sizes(BenchOptions(image_sizes=[(32, 48)]), "image") == ((32, 48),)
    assert media_sizes(BenchOptions(sequence_lengths=[800]), "audio") == ((800,),)
    assert media_sizes(BenchOptions(), "image") is None
    with pytest.raises(BenchError, match="--replay, --policy-batch-size apply to text models"):
        media_sizes(BenchOptions(replay_rows=8, policy_batch_size=4), "audio")
    with pytest.raises(BenchError, match="--sequence-lengths does not apply to an image model"):
        media_sizes(BenchOptions(sequence_lengths=[16]), "image")


def test_write_all_writes_json_csv_report_and_markdown(tmp_path):
    results = make_results()
    paths = results.write_all(tmp_path / "out")
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"bench.json", "bench.csv", "bench.md",
                                                              "report.html"}
    assert paths == {"json": tmp_path / "out" / "bench.json", "csv": tmp_path / "out" / "bench.csv",
                     "html": tmp_path / "out" / "report.html", "md": tmp_path / "out" / "bench.md"}
    back = BenchResults.load(paths["json"])
    assert back.cells == results.cells and back.settings == results.settings
    assert json.loads(paths["json"].read_text())["kind"] == "shapeprof.bench"
    table = pd.read_csv(paths["csv"])
    assert len(table) == len(results.cells) and set(table["variant"]) == {"onnx", "int8", "pytorch"}
    assert paths["md"].read_text(encoding="utf-8") == (results.summary() + "\n\n"
                                                       "Plots of these results: [report.html](report.html)\n")
    assert 'id="latency"' in paths["html"].read_text(encoding="utf-8")


def test_bench_options_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(BenchOptions(), "rounds", 2)
