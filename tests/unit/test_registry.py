"""Registry: isolated instances, duplicates, unknown types, task inference."""

from __future__ import annotations

import pytest

from shapeprof import Registry, TextEncoderOnnxConfig, default_registry
from shapeprof.errors import ConfigError
from shapeprof.onnx.tasks import infer_task, normalize_task
from shapeprof.testing.tiny import TINY_CONFIGS

ENCODERS = {"bert", "roberta", "distilbert", "albert", "electra", "xlm-roberta", "mpnet", "deberta-v2"}


def test_default_registry_has_the_encoders():
    reg = default_registry()
    assert ENCODERS <= set(reg)
    for mt in ENCODERS:
        assert set(reg.tasks(mt)) == {"feature-extraction", "fill-mask", "text-classification",
                                      "token-classification", "question-answering", "multiple-choice"}


def test_every_registered_architecture_has_a_tiny_model():
    missing = set(default_registry()) - set(TINY_CONFIGS)
    assert not missing, f"registered but untested (no tiny config): {sorted(missing)}"


def test_isolated_registry_and_duplicates():
    reg = Registry()

    @reg.register("toy", "default", "sequence-classification")
    class ToyOnnxConfig(TextEncoderOnnxConfig):
        pass

    assert list(reg) == ["toy"]
    assert ToyOnnxConfig.SUPPORTED_TASKS == ("feature-extraction", "text-classification")
    with pytest.raises(ConfigError, match="already registered to ToyOnnxConfig"):
        reg.register("toy", "default")(type("Other", (TextEncoderOnnxConfig,), {}))
    assert "toy" not in default_registry()


def test_unknown_model_type_lists_supported():
    with pytest.raises(ConfigError, match=r"'gpt5' is not supported; supported types: albert, ") as info:
        default_registry().get("gpt5")
    listed = str(info.value).split("supported types: ")[1].split(", ")
    assert listed == sorted(default_registry())


def test_task_names_and_inference():
    assert normalize_task("default") == "feature-extraction"
    assert normalize_task("sequence-classification") == "text-classification"
    assert infer_task(["BertForSequenceClassification"]) == "text-classification"
    assert infer_task(["BertForMaskedLM"]) == "fill-mask"
    assert infer_task(["BertModel"]) == "feature-extraction"
    assert infer_task(None) == "feature-extraction"
