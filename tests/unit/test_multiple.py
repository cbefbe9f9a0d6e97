"""Holm's adjustment, checked against the hand computation and against models.calibration's copy."""
from __future__ import annotations

import pytest

from contract.multiple import holm


def test_holm_by_hand():
    # sorted 0.01, 0.02, 0.04, 0.30: 4 x 0.01, max(0.04, 3 x 0.02), max(0.06, 2 x 0.04), max(0.08, 0.30)
    assert holm([0.04, 0.01, 0.30, 0.02]) == pytest.approx([0.08, 0.04, 0.30, 0.06])


def test_the_issue_example_four_direction_tests():
    """GRU's Pesaran-Timmermann p 0.009 among four direction tests: Holm gives 0.036, no longer a finding at 0.01."""
    adjusted = holm([0.009, 0.4, 0.6, 0.8])
    assert adjusted[0] == pytest.approx(0.036)


def test_absent_values_stay_absent_and_are_not_counted():
    assert holm([None, 0.02, float("nan"), 0.5]) == [None, pytest.approx(0.04), None, pytest.approx(0.5)]


def test_capped_at_one():
    assert holm([0.5, 0.6, 0.7]) == [1.0, 1.0, 1.0]
