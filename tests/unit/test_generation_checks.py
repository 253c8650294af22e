"""Generation parity of a sequence that repeats one token proves nothing, and says so."""

from __future__ import annotations

import numpy as np

from shapeprof.export.generation import GenerationCheck, distinct_tokens


def test_distinct_tokens_is_the_fewest_in_any_row():
    assert distinct_tokens(np.array([[5, 6, 5, 7], [3, 3, 3, 3]])) == 1
    assert distinct_tokens(np.array([[5, 6, 5, 7], [3, 4, 3, 3]])) == 2


def test_a_check_whose_expected_tokens_repeat_is_degenerate():
    constant = GenerationCheck("batch 1", 1, 20, 20, True, distinct_tokens=1)
    varied = GenerationCheck("batch 1", 1, 20, 20, True, distinct_tokens=9)
    assert constant.passed and constant.degenerate
    assert not varied.degenerate
    assert GenerationCheck.from_dict(constant.to_dict()) == constant


def test_a_graph_the_generation_loop_cannot_run_is_a_verification_error():
    import pytest

    from shapeprof.errors import VerificationError
    from shapeprof.export.generation import _onnx_tokens

    class NeedsPixels:
        def onnx(self, inputs, new_tokens):
            raise ValueError("Required inputs (['pixel_values']) are missing from input feed (['input_ids'])")

    with pytest.raises(VerificationError, match="fails at batch 1: Required inputs .*pixel_values"):
        _onnx_tokens(NeedsPixels(), {}, "batch 1")
