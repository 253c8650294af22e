"""The notebooks execute end to end on a results file made here from a tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import REPO, SHARED_DATA

pytestmark = pytest.mark.slow  # executes every notebook

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def results_file(tiny_bert_dir, tmp_path_factory) -> Path:
    """A tiny bench with profile, PyTorch baseline and replay, in a temporary folder (the
    notebooks read it through SHAPEPROF_RESULTS; nothing is written into the repository)."""
    from shapeprof.bench import BenchOptions, run_benchmark
    from shapeprof.export import export
    from shapeprof.profile import profile_dataset

    fixture = tmp_path_factory.mktemp("notebook-fixture") / "bench.json"
    model_dir = fixture.parent / "model"

    def weights(tmp: Path) -> None:
        import shutil
        for f in tiny_bert_dir.iterdir():
            if not (tmp / f.name).exists():
                shutil.copy(f, tmp / f.name)

    export(tiny_bert_dir, model_dir, task="feature-extraction", overwrite=True, extra_files=weights)
    profile = profile_dataset(tiny_bert_dir, "glue", data_dir=SHARED_DATA / "glue", rows=200,
                              batch_sizes=(1, 4), progress=False)
    results = run_benchmark(model_dir, profile, BenchOptions(warmup=1, min_samples=3, min_time_s=0.0, rounds=1,
                                                             intra_op_threads=1, replay_rows=64, replay_repeats=1,
                                                             progress=False))
    results.save(fixture)
    return fixture


def test_there_are_notebooks_without_outputs():
    import nbformat

    assert len(NOTEBOOKS) >= 2
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, results_file, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("SHAPEPROF_RESULTS", str(results_file))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "the notebook drew no figure"
