"""Evaluation statistics against known values and simple cases."""
import numpy as np
import pytest

from models.evaluation import conformal_quantiles, diebold_mariano, evaluate, wilson_interval
from models.features import SplitSpec, prepare
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


def _oracle(p):
    """Perfect foresight of daily returns (NaN past the data is replaced by 0)."""
    origins = np.arange(p.val_start, p.n)
    returns = np.nan_to_num(p.to_returns(p.y[origins]).astype(float))
    return origins, returns


def test_perfect_forecaster_scores_zero_and_persistence_is_its_own_yardstick():
    p = prepare(prices(), 3, 5, SplitSpec(test_days=60))
    origins, returns = _oracle(p)
    ev = evaluate(p, returns, origins, "gru")
    rows = ev.metrics["rows"]
    assert set(rows) == {"gru", "persistence", "drift"}
    assert rows["gru"]["rmse"] == pytest.approx(0, abs=1e-3)
    assert rows["gru"]["directional_accuracy"] == 1.0
    assert rows["persistence"]["rmse_ratio"] == 1.0 and rows["persistence"]["dm_stat"] is None
    assert len(rows["drift"]["per_horizon_rmse"]) == 5
    assert len(ev.predictions["dates"]) == 60 == ev.metrics["test_days"]
    assert ev.predictions["split"]["test_start"] == p.dates[p.test_start].strftime("%Y-%m-%d")
    assert len(ev.residual_diagnostics["acf"]) == 20


def test_persistence_errors_are_the_daily_moves():
    p = prepare(prices(), 3, 5, SplitSpec(test_days=60))
    origins = np.arange(p.val_start, p.n)
    ev = evaluate(p, np.zeros((len(origins), 5)), origins, "gru")  # a network that predicts no change
    moves = p.close[p.test_start:] - p.base[p.test_start:]
    assert ev.metrics["rows"]["persistence"]["rmse"] == pytest.approx(np.sqrt(np.mean(moves**2)))
    assert ev.metrics["rows"]["gru"]["rmse_ratio"] == pytest.approx(1.0)
