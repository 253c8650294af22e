"""``pip install .`` as a real package: a wheel, installed outside the repository, works for every command.

The wheel is built from a copy of the sources (the repository stays clean) without build isolation,
installed with ``--target`` into a temporary folder (its dependencies come from this interpreter's
environment), and run as ``python -m shapeprof`` from a temporary working directory with only that
folder on ``PYTHONPATH``, so nothing can come from the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO

FIXTURES = REPO / "tests" / "fixtures" / "schema"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(site folder with the installed wheel, an empty working directory outside the repo)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(REPO / "shapeprof", src / "shapeprof",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "-w", str(tmp / "dist"), str(src)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    said = built.stdout + built.stderr                  # setuptools' warnings about our pyproject.toml
    assert "BuildBackendWarning" not in said and "deprecat" not in said.lower(), said
    (wheel,) = (tmp / "dist").glob("shapeprof-*.whl")
    site = tmp / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                           str(wheel)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    cwd = tmp / "elsewhere"
    cwd.mkdir()
    return site, cwd


def run(installed: tuple[Path, Path], *args: str) -> subprocess.CompletedProcess:
    site, cwd = installed
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)


def test_the_package_comes_from_the_wheel(installed):
    proc = run(installed, "-c", "import shapeprof; print(shapeprof.__file__)")
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).is_relative_to(installed[0])


def test_thresholds_load_from_package_data(installed):
    code = ("from shapeprof.regression.thresholds import DEFAULT_FILE, Thresholds, load_thresholds; "
            "print(DEFAULT_FILE); print(DEFAULT_FILE.is_file()); print(load_thresholds() == Thresholds())")
    proc = run(installed, "-c", code)
    assert proc.returncode == 0, proc.stderr
    path, present, same = proc.stdout.split()
    assert Path(path).is_relative_to(installed[0]) and present == "True" and same == "True"


@pytest.mark.parametrize("command", ["export", "list", "profile", "bench", "compare", "run", "ci"])
def test_every_command_answers_help(installed, command):
    proc = run(installed, "-m", "shapeprof", command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: shapeprof {command}")


def test_list_and_compare_work_outside_the_repo(installed):
    listed = run(installed, "-m", "shapeprof", "list")
    assert listed.returncode == 0 and "bert " in listed.stdout and "feature-extraction" in listed.stdout, listed.stderr
    base = FIXTURES / "bench-v1-285f95c.json"
    compared = run(installed, "-m", "shapeprof", "compare", str(base), str(base))
    assert compared.returncode == 0, compared.stderr
    assert "## shapeprof compare: PASS" in compared.stdout
