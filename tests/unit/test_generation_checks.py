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
