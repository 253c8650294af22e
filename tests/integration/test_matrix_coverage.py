"""A registered architecture without an export-and-verify test fails the suite (tasks: matrix.py)."""

from __future__ import annotations

import importlib

from shapeprof.onnx.builtin import default_registry
from matrix import main_task, matrix_tasks

# Each module defines MATRIX: the (model_type, task) pairs it exports and verifies.
MATRIX_MODULES = ("test_architecture_matrix", "test_modality_matrix", "test_generative_matrix")


def covered_pairs():
    covered = set()
    for name in MATRIX_MODULES:
        covered |= set(importlib.import_module(name).MATRIX)
    return covered


def test_every_registered_architecture_has_a_matrix_test():
    registry = default_registry()
    wanted = {(mt, task) for mt in registry for task in matrix_tasks(registry, mt)}
    missing = sorted(wanted - covered_pairs())
    assert not missing, f"registered without a matrix test: {missing}"
    assert {mt for mt, _ in covered_pairs()} == set(registry)


def test_the_matrix_tests_each_architectures_main_task():
    registry = default_registry()
    assert len(registry) >= 100
    assert main_task(registry, "llama") == "text-generation-with-past"
    assert main_task(registry, "t5") == "text2text-generation-with-past"
    assert main_task(registry, "whisper") == "automatic-speech-recognition-with-past"
    assert main_task(registry, "camembert") == "feature-extraction"
    assert main_task(registry, "levit") == "image-classification"
    assert main_task(registry, "chinese_clip") == "zero-shot-image-classification"
    assert set(matrix_tasks(registry, "bert")) == set(registry.tasks("bert"))   # the first ones: every task
    assert matrix_tasks(registry, "camembert") == ("feature-extraction",)
