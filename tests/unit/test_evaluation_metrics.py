"""Evaluation statistics against known values and simple cases (the rolling-origin evaluation is the only one)."""
import numpy as np
import pytest

from models.evaluation import conformal_quantiles, diebold_mariano, wilson_interval
from models.features import SplitSpec, prepare
from models.report import network_forecasts, rolling_report
from models.rolling import RollingSpec, baseline_forecasts
from tests.support.prices import prices


def test_wilson_interval_known_value():
    lo, hi = wilson_interval(60, 100)
    assert lo == pytest.approx(0.5020, abs=1e-3) and hi == pytest.approx(0.6906, abs=1e-3)


def test_diebold_mariano_sign_and_significance():
    rng = np.random.default_rng(1)
    bench = rng.normal(0, 2.0, 500)
    better = rng.normal(0, 1.0, 500)
    stat, p = diebold_mariano(better, bench)
    assert stat < 0 and p < 0.01  # smaller squared errors: negative and significant
    stat, p = diebold_mariano(bench, bench)
    assert stat is None  # identical errors: no variance, no test


def test_conformal_quantile_is_the_finite_sample_order_statistic():
    pred = np.ones((9, 1))
    actual = 1 + np.arange(1, 10)[:, None] / 100  # scores 0.01 .. 0.09
    # ceil((9+1) * 0.8) = 8th smallest score
    assert conformal_quantiles(pred, actual, 0.8)[0] == pytest.approx(0.08)


SPEC = RollingSpec()


def _oracle(p):
    """Perfect foresight of daily returns at every evaluation origin (NaN past the data is replaced by 0)."""
    origins = np.arange(p.test_start, p.n)
    return np.nan_to_num(p.to_returns(p.y[origins]).astype(float))


def _report(p, returns):
    """The rolling-origin report of a stand-in network predicting ``returns`` (N, H) at every evaluation origin."""
    return rolling_report(p, network_forecasts(p, baseline_forecasts(p, SPEC), "gru", returns), "gru", SPEC)


def test_perfect_forecaster_scores_zero_and_persistence_is_its_own_yardstick():
    p = prepare(prices(), 3, 5, SplitSpec(test_days=60))
    rep = _report(p, _oracle(p))
    rows = rep.metrics["rows"]
    assert set(rows) == {"gru", "persistence", "drift", "ridge"}
    assert rows["gru"]["rmse"] == pytest.approx(0, abs=1e-3)
    assert rows["gru"]["directional_accuracy"] == 1.0
    assert rows["persistence"]["rmse_ratio"] == 1.0 and rows["persistence"]["dm_stat"] is None
    assert len(rows["drift"]["per_horizon_rmse"]) == 5
    reported = p.n - SPEC.promotion_end(p.test_start, p.n)  # the promotion window's origins are not reported
    assert len(rep.predictions["dates"]) == reported == rep.metrics["test_days"]
    assert rep.predictions["split"]["test_start"] == p.dates[p.test_start].strftime("%Y-%m-%d")
    assert len(rep.residual_diagnostics["acf"]) == 20


def test_persistence_errors_are_the_daily_moves():
    p = prepare(prices(), 3, 5, SplitSpec(test_days=60))
    rep = _report(p, np.zeros((p.n - p.test_start, 5)))  # a network that predicts no change
    start = SPEC.promotion_end(p.test_start, p.n)
    moves = p.close[start:] - p.base[start:]
    assert rep.metrics["rows"]["persistence"]["rmse"] == pytest.approx(np.sqrt(np.mean(moves**2)))
    assert rep.metrics["rows"]["gru"]["rmse_ratio"] == pytest.approx(1.0)


def test_the_live_band_falls_back_to_the_evaluations_own_conformal_widths():
    """Too few known outcomes for the adaptive band (60 origins, the first 20 scores only calibrate): the
    stand-in is the plain conformal quantile of the network's errors over the evaluation origins, never NaN."""
    p = prepare(prices(), 3, 5, SplitSpec(test_days=60))
    rep = _report(p, np.zeros((p.n - p.test_start, 5)))
    fc = network_forecasts(p, baseline_forecasts(p, SPEC), "gru", np.zeros((p.n - p.test_start, 5)))
    for level in (0.80, 0.95):
        expected = conformal_quantiles(fc.paths["gru"], fc.actual, level)
        assert rep.fallback[level] == pytest.approx(expected)
        live = rep.live_halfwidths()[level]
        assert np.all(np.isfinite(live))
        adaptive = rep.forecast_halfwidths[level]
        assert np.where(np.isnan(adaptive), expected, adaptive) == pytest.approx(live)
