"""The Compare and Residuals figures honest about many tests (issue 22, point 5): Holm-adjusted p beside each raw
one, intervals beside R2 and MASE, persistence's own values, and a one-sided forecaster named."""
from __future__ import annotations

import pytest

from dashboard.figures import compare, residuals


def _direction(up_calls: float, p: float | None) -> dict:
    return {"hit_rate": 0.55, "hits": 55, "days": 100, "low": 0.45, "high": 0.65, "up_calls": up_calls,
            "pt_stat": 2.0, "pt_pvalue": p}


def _metrics(gru_up: float) -> dict:
    rows = {"gru": _direction(gru_up, 0.009), "ridge": _direction(0.6, 0.4), "drift": _direction(1.0, None),
            "always_up": _direction(1.0, None)}
    return {"gru": {"rows": {}, "direction": {"up_share": 0.53, "days": 100, "rows": rows}},
            "lstm": {"rows": {}, "direction": {"up_share": 0.53, "days": 100, "rows": {"lstm": _direction(0.5, 0.5)}}},
            "simplernn": {"rows": {}, "direction": {"up_share": 0.53, "days": 100,
                                                    "rows": {"simplernn": _direction(0.5, 0.7)}}}}


def test_pesaran_timmermann_is_judged_after_holm_and_a_one_sided_caller_is_named():
    """Was: "p < 0.05: they do" on GRU's raw 0.009 (Holm over the four tests: 0.036), and an 85% "up" caller unnamed."""
    frame, words = compare.direction_frame(_metrics(gru_up=0.85))
    gru = frame[frame["forecaster"] == "GRU"].iloc[0]
    assert gru["Pesaran-Timmermann p"] == 0.009 and gru[f"Pesaran-Timmermann p {compare.HOLM}"] == pytest.approx(0.036)
    assert "Holm-adjusted across the 4 tests" in words and "only an adjusted p below 0.05 says they do: GRU." in words
    assert 'the GRU calls "up" on 85.0% of days' in words
    assert "One-sided" not in compare.direction_frame(_metrics(gru_up=0.79))[1]


def test_metric_rows_carry_r2_and_mase_intervals_holm_and_persistences_own_values():
    row = {"rmse": 1.3, "rmse_ratio": 1.05, "rmse_ratio_low": 1.01, "rmse_ratio_high": 1.1, "r2_zero": 0.0072,
           "r2_zero_low": -0.0084, "r2_zero_high": 0.0235, "mase": 0.61, "mase_low": 0.55, "mase_high": 0.67,
           "dm_pvalue": 0.02}
    base = {"rmse": 1.25, "rmse_ratio": 1.0, "r2_zero": 0.0, "mase": 0.608, "dm_pvalue": None}
    frame = compare.metrics_frame({"gru": {"rows": {"gru": row, "persistence": base, "drift": {**row, "dm_pvalue": 0.5}}}})
    gru = frame.iloc[0]
    assert gru["R2 vs 0: 95% interval"] == "[-0.84, +2.35]" and gru["MASE: 95% interval"] == "[0.550, 0.670]"
    assert gru[f"DM p {compare.HOLM}"] == pytest.approx(0.04)  # two tests in the family
    assert "MASE 0.608" in compare.persistence_words(frame)


def test_residual_sentences_decide_on_the_adjusted_p():
    """Ljung-Box p 0.03 alone rejects; Holm over the page's three tests (0.03, 0.5, 0.6) gives 0.09: no rejection."""
    diag = {"ljung_box_pvalue": 0.03, "arch_lm_pvalue": 0.5, "dm_pvalue": 0.6, "dm_stat": 0.3}
    words = residuals.ljung_box_sentence(diag)  # type: ignore[arg-type]
    assert "p = 0.030, 0.090 after Holm across this page's tests, so we cannot tell them from white noise" in words
