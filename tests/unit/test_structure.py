"""The package's shape: no import cycle across units, no type ignores, stages as packages."""

from __future__ import annotations

from support import REPO, load_script

PACKAGE = REPO / "shapeprof"


def _code_stats():
    return load_script(REPO / "scripts" / "code_stats.py")


def test_no_import_cycle_between_units():
    stats = _code_stats()
    mods = stats.modules(PACKAGE)
    graph = {n: stats.imports(n, p, set(mods)) for n, p in mods.items()}
    assert stats.cycles(stats.without_ancestors(graph)) == []


def test_cycle_detection_sees_a_lazy_import(tmp_path):
    """The check must be able to fail: two modules importing each other, one inside a function."""
    stats = _code_stats()
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import x\n")
    (pkg / "b.py").write_text("x = 1\n\ndef f():\n    from .a import x\n    return x\n")
    mods = stats.modules(pkg)
    graph = {n: stats.imports(n, p, set(mods)) for n, p in mods.items()}
    assert stats.cycles(stats.without_ancestors(graph)) == [["pkg.a", "pkg.b"]]


def test_no_type_ignores():
    hits = [str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py") if "type: ignore" in p.read_text()]
    assert hits == []


def test_stages_are_packages():
    for stage in ("onnx", "data", "profile", "export", "bench", "regression", "testing", "commands"):
        assert (PACKAGE / stage / "__init__.py").is_file(), stage
    loose = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__", "__main__", "atomic", "cli", "console", "default_model", "errors",
                     "interrupts", "layout", "lazy", "loading", "modality", "runspec", "schema"]
