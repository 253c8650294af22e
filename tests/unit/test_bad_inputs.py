"""Bad inputs, tried as a new user would: one stderr line naming the problem, exit 2, nothing written.

The CLI runs in-process (``shapeprof.cli.main``); everything here stops before a model loads.
Bad inputs that need an export (SIGTERM, tokenizer files of an export) are in
tests/integration/test_bad_inputs_cli.py.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from shapeprof import atomic
from shapeprof.cli import main, one_line
from shapeprof.errors import ModelLoadError


def fails(capsys, argv, code=2) -> str:
    """Run the CLI; assert ``code``, no stdout and exactly one stderr line; return that line."""
    assert main(argv) == code
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.endswith("\n"), err
    assert err.isprintable() or err[:-1].isprintable(), err
    return err.strip()


def tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    """A saved tiny BERT: config.json and model.safetensors, no tokenizer."""
    from shapeprof.testing.tiny import tiny_model

    path = tmp_path_factory.mktemp("tiny") / "bert"
    tiny_model("bert").save_pretrained(path)
    return path


@pytest.fixture
def copy_of(tmp_path):
    def make(src: Path, name: str) -> Path:
        import shutil

        return Path(shutil.copytree(src, tmp_path / name))
    return make


# --- output directory whose parent is not writable ---------------------------------------------

def _read_only(monkeypatch, directory: Path) -> None:
    """Make ``directory`` unwritable, for root too (root ignores mode bits; os.access is asked)."""
    directory.mkdir()
    directory.chmod(0o555)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False
                        if Path(p).resolve() == directory.resolve() else real(p, mode, *a, **k))


def test_export_into_unwritable_parent(capsys, monkeypatch, tmp_path, tiny_dir):
    _read_only(monkeypatch, tmp_path / "ro")
    try:
        line = fails(capsys, ["export", "--model", str(tiny_dir), str(tmp_path / "ro" / "out")])
    finally:
        (tmp_path / "ro").chmod(0o755)
    assert line.startswith("export error: cannot create output directory")
    assert "no permission to write in" in line and "choose a writable location" in line
    assert tree(tmp_path) == ["ro"]


def test_export_under_a_file(capsys, tmp_path, tiny_dir):
    (tmp_path / "f").write_text("mine")
    line = fails(capsys, ["export", "--model", str(tiny_dir), str(tmp_path / "f" / "out")])
    assert "is a file, not a directory" in line and (tmp_path / "f").read_text() == "mine"


# --- weights -----------------------------------------------------------------------------------

def test_truncated_safetensors(capsys, tmp_path, tiny_dir, copy_of):
    model = copy_of(tiny_dir, "trunc")
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    line = fails(capsys, ["export", "--model", str(model), str(tmp_path / "out")])
    assert line.startswith("model error: weights file") and "model.safetensors" in line
    assert "truncated or corrupt" in line and "re-download or re-save" in line
    assert not (tmp_path / "out").exists()


def test_garbage_safetensors_is_not_echoed(capsys, tmp_path, tiny_dir, copy_of):
    model = copy_of(tiny_dir, "garbage")
    (model / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00\x1b[31m\x00\xff\xfe")
    line = fails(capsys, ["export", "--model", str(model), str(tmp_path / "out")])
    assert "truncated or corrupt" in line and "\x1b" not in line


def test_pickle_weights_are_refused_with_a_conversion_hint(capsys, tmp_path, tiny_dir, copy_of):
    import torch
    from safetensors.torch import load_file

    model = copy_of(tiny_dir, "pickle")
    state = load_file(model / "model.safetensors")
    (model / "model.safetensors").unlink()
    torch.save(state, model / "pytorch_model.bin")
    line = fails(capsys, ["export", "--model", str(model), str(tmp_path / "out")])
    assert "weights only as a pickle (pytorch_model.bin)" in line
    assert "save_pretrained()" in line and "model.safetensors" in line
    assert "weights_only" not in line and not (tmp_path / "out").exists()


# --- numeric options: checked while parsing, before any work ----------------------------------

NUMERIC = [
    (["export", "--atol", "-1", "OUT"], "--atol"),
    (["export", "--rtol", "nan", "OUT"], "--rtol"),
    (["export", "--opset", "0", "OUT"], "--opset"),
    (["export", "--opset", "x", "OUT"], "--opset"),
    (["export", "--dataset", "glue", "--rows", "0", "OUT"], "--rows"),
    (["export", "--dataset", "glue", "--seed", "-3", "OUT"], "--seed"),
    (["profile", "--rows", "-5"], "--rows"),
    (["profile", "--buckets", "0"], "--buckets"),
    (["profile", "--batch-sizes", "8,0"], "--batch-sizes"),
    (["bench", "M", "--rounds", "0"], "--rounds"),
    (["bench", "M", "--warmup", "-1"], "--warmup"),
    (["bench", "M", "--min-samples", "0"], "--min-samples"),
    (["bench", "M", "--min-time", "-0.5"], "--min-time"),
    (["bench", "M", "--min-time", "inf"], "--min-time"),
    (["bench", "M", "--threads", "0"], "--threads"),
    (["bench", "M", "--new-tokens", "0"], "--new-tokens"),
    (["bench", "M", "--replay", "-1"], "--replay"),
    (["bench", "M", "--policy-batch-size", "0"], "--policy-batch-size"),
    (["ci", "--rounds", "0"], "--rounds"),
]


@pytest.mark.parametrize("argv, flag", NUMERIC, ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_numeric_options_are_checked_first(capsys, tmp_path, argv, flag):
    argv = [str(tmp_path / "out") if a == "OUT" else a for a in argv]
    line = fails(capsys, argv)
    assert f"argument {flag}" in line and "expected" in line and "--help" in line
    assert list(tmp_path.iterdir()) == []


def test_opset_out_of_range_before_loading(capsys, tmp_path, tiny_dir):
    line = fails(capsys, ["export", "--model", str(tiny_dir), "--opset", "99", str(tmp_path / "out")])
    assert "opset 99 is not supported" in line and list(tmp_path.iterdir()) == []


def test_unknown_bench_variant_before_export(capsys, tmp_path, minilm_dir):
    line = fails(capsys, ["export", "--model", str(minilm_dir), "--dataset", "glue", "--bench",
                          "--bench-variants", "onnx,fast", str(tmp_path / "out")])
    assert "--bench-variants: unknown 'fast'" in line and list(tmp_path.iterdir()) == []


def test_run_spec_numbers_are_checked(capsys, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\ntiming: {rounds: 0}\n")
    line = fails(capsys, ["run", str(spec), "-o", str(tmp_path / "out")])
    assert "'rounds' must be a number >= 1, not 0" in line and not (tmp_path / "out").exists()


def test_thresholds_must_be_finite(capsys, tmp_path):
    (tmp_path / "t.yaml").write_text("regression_ratio: .inf\n")
    line = fails(capsys, ["compare", "a.json", "b.json", "--thresholds", str(tmp_path / "t.yaml")])
    assert "'regression_ratio' must be a finite number" in line


# --- tokenizer: profiling needs the model's own ----------------------------------------------

def test_export_dataset_without_tokenizer(capsys, tmp_path, tiny_dir):
    line = fails(capsys, ["export", "--model", str(tiny_dir), "--dataset", "glue",
                          str(tmp_path / "out")])
    assert line.startswith("model error:") and "has no tokenizer or processor files" in line
    assert "the model's own" in line and not (tmp_path / "out").exists()


def test_profile_without_tokenizer(capsys, tmp_path, tiny_dir):
    line = fails(capsys, ["profile", "--model", str(tiny_dir), "-o", str(tmp_path / "p.json")])
    assert "has no tokenizer or processor files" in line and list(tmp_path.iterdir()) == []


def test_load_tokenizer_refuses_a_directory_without_one(tiny_dir):
    from shapeprof.profile.tokenize import load_tokenizer

    with pytest.raises(ModelLoadError, match="has no tokenizer files .* needs the model's own tokenizer"):
        load_tokenizer(tiny_dir)


# --- ci base revision --------------------------------------------------------------------------

def test_ci_with_a_missing_base_revision(capsys, tmp_path, tiny_dir):
    spec = tmp_path / "ci.yaml"
    spec.write_text(f"name: ci\nmodel: {tiny_dir}\n")
    work = tmp_path / "work"
    line = fails(capsys, ["ci", str(spec), "--base-rev", "no-such-rev", "--work-dir", str(work)])
    assert line.startswith("config error: --base-rev 'no-such-rev' is not a commit")
    assert "shallow" not in line.split(";")[0] and not work.exists()


def test_ci_base_revision_is_not_an_option(capsys, tmp_path):
    spec = tmp_path / "ci.yaml"
    spec.write_text("name: ci\n")
    line = fails(capsys, ["ci", str(spec), "--base-rev=--output=x", "--work-dir", str(tmp_path / "w")])
    assert "is not a revision" in line and not (tmp_path / "x").exists()


# --- results paths are checked before the work -------------------------------------------------

def test_bench_output_in_unwritable_folder(capsys, monkeypatch, tmp_path):
    _read_only(monkeypatch, tmp_path / "ro")
    line = fails(capsys, ["bench", str(tmp_path / "no-model"), "-o", str(tmp_path / "ro" / "r.json")])
    (tmp_path / "ro").chmod(0o755)
    assert line.startswith("bench error: cannot create --output") and "no permission" in line


@pytest.mark.parametrize("argv, fragment", [
    (["bench", "M", "--csv", "DIR"], "--csv 'DIR' is a directory"),
    (["bench", "M", "-o", "DIR/r.json", "--csv", "DIR/r.json"], "the same file"),
    (["bench", "M", "-o", "FILE/r.json"], "is a file, not a directory"),
    (["profile", "-o", "DIR"], "--output 'DIR' is a directory"),
    (["profile", "-o", "FILE/p.json"], "is a file, not a directory"),
    (["compare", "a.json", "b.json", "-o", "DIR/"], "--output 'DIR/' is a directory"),
    (["ci", "--work-dir", "FILE/w"], "is a file, not a directory"),
])
def test_results_paths_are_checked_first(capsys, tmp_path, argv, fragment):
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("mine")
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\n")
    subst = {"DIR": str(tmp_path / "d"), "FILE": str(tmp_path / "f")}

    def fill(text: str) -> str:
        for key, value in subst.items():
            text = text.replace(key, value)
        return text

    argv = [fill(a) for a in argv] + ([str(spec)] if argv[0] == "ci" else [])
    line = fails(capsys, argv)
    assert fill(fragment) in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "f", "s.yaml"]
    assert list((tmp_path / "d").iterdir()) == [] and (tmp_path / "f").read_text() == "mine"


def test_atomic_file_wraps_write_errors(tmp_path):
    from shapeprof.errors import BenchError

    with pytest.raises(BenchError, match="cannot write .*r.json.*No space left"):
        with atomic.atomic_file(tmp_path / "r.json", BenchError):
            raise OSError(28, "No space left on device")
    assert list(tmp_path.iterdir()) == []


# --- --debug, internal errors, raw bytes ------------------------------------------------------

def _explode(args):
    raise ValueError("bad value\nsecond line")


def test_internal_errors_are_one_line(capsys, monkeypatch):
    from shapeprof.commands import list as command

    monkeypatch.setattr(command, "run", _explode)
    line = fails(capsys, ["list"])
    assert line.startswith("internal error: ValueError: bad value (re-run with --debug")
    assert "second line" not in line


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_prints_the_chained_traceback(capsys, monkeypatch, tmp_path, how):
    if how == "env":
        monkeypatch.setenv("SHAPEPROF_DEBUG", "1")
    argv = (["--debug"] if how == "flag" else []) + ["run", str(tmp_path / "missing.yaml")]
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("config error: run spec") and err[1] == "Traceback (most recent call last):"
    assert any("FileNotFoundError" in line for line in err)            # the cause
    assert "direct cause of the following exception" in "\n".join(err)


def test_debug_off_by_default(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SHAPEPROF_DEBUG", "0")
    fails(capsys, ["run", str(tmp_path / "missing.yaml")])


def test_binary_run_spec_is_not_echoed(capsys, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x1b[2J")
    line = fails(capsys, ["run", str(spec)])
    assert line.startswith("config error:") and "\x1b" not in line and "\x00" not in line


def test_one_line_escapes_and_caps():
    assert one_line("a\x1b[31mb\n c\x00") == "a\\x1b[31mb c\\x00"
    assert len(one_line("x" * 5000)) == 600


def test_usage_errors_are_one_line(capsys):
    line = fails(capsys, ["export"])
    assert line.startswith(("shapeprof export: error:", "export error:")) and "OUTPUT_DIR" in line


# --- SIGTERM -----------------------------------------------------------------------------------

def test_sigterm_cleans_up_atomic_outputs(tmp_path):
    with pytest.raises(atomic.Terminated), atomic.sigterm_raises():
        with atomic.atomic_dir(tmp_path / "out", False, ModelLoadError) as tmp:
            (tmp / "model.onnx").write_text("half")
            os.kill(os.getpid(), signal.SIGTERM)
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_signal_during_an_import_is_raised_after_it(tmp_path, monkeypatch):
    """A SIGTERM (or Ctrl-C) that lands while a module is importing (a C extension's init, where
    raising can abort the process) is raised once the import is done, not inside it."""
    (tmp_path / "slow_module_under_signal.py").write_text(
        "import os, signal, time\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "for _ in range(20):\n"
        "    time.sleep(0.01)\n"
        "DONE = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    imported = []
    with pytest.raises(atomic.Terminated), atomic.sigterm_raises():
        import slow_module_under_signal
        imported.append(slow_module_under_signal.DONE)
        time.sleep(5)                                   # the signal, sent again, lands here
    assert imported == [True]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_sigterm_exits_143(capsys, monkeypatch):
    from shapeprof.commands import list as command

    monkeypatch.setattr(command, "run", lambda args: os.kill(os.getpid(), signal.SIGTERM))
    assert fails(capsys, ["list"], code=143) == "terminated; nothing was written"
