"""Kupiec, Christoffersen and Holm against hand-worked and published examples; coverage by volatility tercile."""
import math

import numpy as np
import pytest
from scipy import stats

from models.calibration import (
    band_calibration, christoffersen, holm, holm_family, kupiec_pof, terciles, transitions, violation_tests,
)


def _sequence(runs_of_one: int, runs_of_two: int, n: int) -> np.ndarray:
    """Violations in runs of one or two, each run preceded by a non-violation, padded to n with zeros."""
    v: list[int] = []
    for k in range(runs_of_one + runs_of_two):
        v += [0, 1] + ([1] if k < runs_of_two else [])
    return np.array(v + [0] * (n - len(v)), bool)


def test_kupiec_hand_worked_example():
    """10 violations of an 80% band in 20 outcomes: the likelihood ratio by hand."""
    v = np.array([1] * 10 + [0] * 10, bool)
    lr = -2 * (10 * math.log(0.8) + 10 * math.log(0.2) - 20 * math.log(0.5))
    stat, p = kupiec_pof(v, 0.80)
    assert stat == pytest.approx(lr, rel=1e-12) and p == pytest.approx(stats.chi2.sf(lr, 1), rel=1e-12)


@pytest.mark.parametrize("level, failures, n, lr, p", [
    (0.95, 3, 250, 10.812, 0.0010083),  # MathWorks risk.validation.proportionOfFailuresTest example
    (0.99, 3, 250, 0.09494, 0.75799),
    (0.95, 57, 1043, 0.46147, 0.49694),  # MathWorks varbacktest pof example (EquityIndex, Normal95)
    (0.99, 17, 1043, 3.5118, 0.060933),  # ... Normal99
])
def test_kupiec_matches_the_published_worked_examples(level, failures, n, lr, p):
    v = np.zeros(n, bool)
    v[:failures] = True
    stat, pv = kupiec_pof(v, level)
    assert stat == pytest.approx(lr, rel=1e-4) and pv == pytest.approx(p, rel=1e-4)


def test_christoffersen_matches_the_published_varbacktest_example():
    """MathWorks' cci/cc example: 1043 days, 57 failures, N00=932 N10=53 N01=53 N11=4 -> LR 0.25866, p 0.61104."""
    v = _sequence(49, 4, 1043)
    assert transitions(v) == (932, 53, 53, 4) and v.sum() == 57
    c = christoffersen(v, 0.95)
    assert c["ind_stat"] == pytest.approx(0.25866, rel=1e-4) and c["ind_p"] == pytest.approx(0.61104, rel=1e-4)
    assert c["cc_stat"] == pytest.approx(0.46147 + 0.25866, rel=1e-4)
    assert c["cc_p"] == pytest.approx(stats.chi2.sf(0.46147 + 0.25866, 2), rel=1e-3)


def test_christoffersen_independence_hand_worked_example():
    """0 0 1 1 0 0 1 1 0: n00=2 n01=2 n10=2 n11=2, pi01=pi11=1/2=pi -> no evidence of clustering."""
    v = np.array([0, 0, 1, 1, 0, 0, 1, 1, 0], bool)
    assert transitions(v) == (2, 2, 2, 2)
    assert christoffersen(v, 0.5)["ind_stat"] == pytest.approx(0.0, abs=1e-12)
    clustered = np.array([0] * 40 + [1] * 10 + [0] * 50, bool)  # n00=88 n01=1 n10=1 n11=9
    assert transitions(clustered) == (88, 1, 1, 9)
    pi, pi01, pi11 = 10 / 99, 1 / 89, 9 / 10
    lr = -2 * (89 * math.log(1 - pi) + 10 * math.log(pi)
               - 88 * math.log(1 - pi01) - math.log(pi01) - math.log(1 - pi11) - 9 * math.log(pi11))
    assert christoffersen(clustered, 0.9)["ind_stat"] == pytest.approx(lr, rel=1e-12)
    assert christoffersen(clustered, 0.9)["ind_p"] < 1e-6


def test_independence_test_holds_its_size_on_independent_violations():
    rng = np.random.default_rng(11)
    p = [christoffersen(rng.random(500) < 0.2, 0.8)["ind_p"] for _ in range(400)]
    assert 0.02 < np.mean(np.array(p) < 0.05) < 0.09


def test_overlap_aware_test_holds_its_size_where_the_plain_test_rejects():
    """h=5 outcomes of a calibrated band overlap: the plain independence test rejects, the split test does not."""
    rng = np.random.default_rng(5)
    plain, split = [], []
    for _ in range(100):
        r = rng.normal(size=600)
        five_day = np.convolve(r, np.ones(5), "valid")  # overlapping 5-day sums
        v = np.abs(five_day) > 1.2816 * math.sqrt(5)
        plain.append(christoffersen(v, 0.8)["ind_p"])
        split.append(violation_tests(v, 0.8, h=5)["independence"])
    assert np.mean(np.array(plain) < 0.05) > 0.9
    assert np.mean(np.array(split) < 0.05) < 0.08


def test_holm_hand_worked_example():
    # sorted 0.01, 0.02, 0.03, 0.5 -> 4*0.01, 3*0.02, max(0.06, 2*0.03), max(0.06, 0.5)
    assert holm([0.03, 0.5, 0.01, 0.02]) == pytest.approx([0.06, 0.5, 0.04, 0.06])
    assert holm([0.45, 0.4]) == pytest.approx([0.8, 0.8])  # monotone: never below an earlier step
    out = holm([0.01, float("nan")])
    assert out[0] == pytest.approx(0.01) and math.isnan(out[1])


def test_holm_family_adjusts_across_levels_tests_and_horizons_of_one_band():
    entry = {"80": {"tests": {"kupiec": [0.01, 0.5], "independence": [0.2, 0.3], "cc": [0.04, 0.6]}},
             "95": {"tests": {"kupiec": [0.7, 0.8], "independence": [0.9, 0.05], "cc": [0.3, 0.1]}}}
    holm_family(entry)
    assert entry["80"]["tests"]["kupiec_holm"][0] == pytest.approx(0.12)  # 12 tests x 0.01
    assert entry["80"]["tests"]["cc_holm"][0] == pytest.approx(0.44)  # second smallest: 11 x 0.04


def test_terciles_split_origins_into_equal_thirds_by_their_own_volatility():
    vol = np.arange(30, dtype=float)[::-1]
    group, cuts = terciles(vol)
    assert np.bincount(group).tolist() == [10, 10, 10]
    assert np.all(group[vol < cuts[0]] == 0) and np.all(group[vol > cuts[1]] == 2)


def test_band_calibration_counts_coverage_per_tercile_and_horizon():
    covered = np.array([[1, 1], [0, 1], [1, 0], [1, 1], [1, 1], [0, 0]], bool)
    ok = np.array([[1, 1], [1, 1], [1, 1], [1, 1], [1, 1], [1, 0]], bool)
    group = np.array([0, 0, 1, 1, 2, 2])
    out = band_calibration(covered, ok, group, 0.8)
    assert out["coverage"] == [[0.5, 1.0], [1.0, 0.5], [0.5, 1.0]]
    assert out["origins"] == [[2, 2], [2, 2], [2, 1]]
    assert set(out["tests"]) == {"kupiec", "independence", "cc"} and len(out["tests"]["cc"]) == 2
