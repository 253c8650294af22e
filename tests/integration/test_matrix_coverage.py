"""A registered (architecture, task) without an export-and-verify test fails the suite."""

from __future__ import annotations

import importlib

from shapeprof.onnx.builtin import default_registry

# Each module defines MATRIX: the (model_type, task) pairs it exports and verifies.
MATRIX_MODULES = ("test_architecture_matrix", "test_modality_matrix", "test_generative_matrix")


def test_every_registered_pair_has_a_matrix_test():
    registry = default_registry()
    registered = {(mt, task) for mt in registry for task in registry.tasks(mt)}
    covered = set()
    for name in MATRIX_MODULES:
        covered |= set(importlib.import_module(name).MATRIX)
    missing = sorted(registered - covered)
    assert not missing, f"registered without a matrix test: {missing}"
