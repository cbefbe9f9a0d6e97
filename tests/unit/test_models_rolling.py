"""Rolling-origin forecasts of a real (tiny) network: warm starts never see the days they forecast."""
import numpy as np
import pytest

from models.features import SplitSpec, prepare
from models.network import Hyperparams
from models.pipeline import fit_cell, rolling_evaluation
from models.rolling import RollingSpec, network_paths
from models.training import FitControls, set_determinism
from tests.support.prices import prices

pytestmark = pytest.mark.slow
HP = Hyperparams(cell="gru", units=(8, 4), epochs=2, patience=2)
SPEC = RollingSpec(refit_every=15, epochs=1)


@pytest.fixture(scope="module")
def fitted():
    """A small GRU fit on the first part of a synthetic 360-day history."""
    return fit_cell(prices(360), HP, SplitSpec(test_days=90), controls=FitControls(seed=1))


def _paths(fit, frame):
    set_determinism(1)
    p = prepare(frame, HP.window, HP.horizon, (fit.prepared.val_start, fit.prepared.test_start), scaler=fit.prepared.scaler)
    return p, network_paths(fit.model, p, SPEC, HP, FitControls(seed=1))


def test_a_change_after_a_day_leaves_every_earlier_forecast_unchanged(fitted):
    frame = prices(360)
    changed = frame.copy()
    cut = frame.index[-40]
    changed.loc[cut:, ["open", "high", "low", "close"]] *= 1.5
    p, (a, refits) = _paths(fitted, frame)
    _, (b, _) = _paths(fitted, changed)
    k = int(p.dates.searchsorted(cut)) - p.test_start  # first origin whose window holds the changed close
    assert np.array_equal(a[: k + 1], b[: k + 1])  # origin k forecasts from rows before the change
    assert not np.allclose(a[k + 2:], b[k + 2:])
    assert refits == list(range(p.test_start + 15, p.n, 15))  # warm-started at every block start


def test_the_stored_model_forecasts_the_first_block_and_is_not_changed(fitted):
    before = [w.copy() for w in fitted.model.get_weights()]
    p, (returns, _) = _paths(fitted, prices(360))
    first = p.to_returns(np.asarray(fitted.model(p.windows(np.arange(p.test_start, p.test_start + 15))), float))
    assert np.allclose(returns[:15], first, atol=1e-6)
    assert all(np.array_equal(x, y) for x, y in zip(before, fitted.model.get_weights()))


def test_report_counts_origins_and_keeps_the_promotion_window_out(fitted):
    rep = rolling_evaluation(fitted.model, HP, fitted.prepared, SPEC, FitControls(seed=1))
    ev = rep.metrics["evaluation"]
    p = fitted.prepared
    report_start = SPEC.promotion_end(p.test_start, p.n)
    assert ev["report_start"] == p.dates[report_start].strftime("%Y-%m-%d")
    assert ev["origins"][0] == p.n - report_start == rep.metrics["test_days"]
    assert ev["origins"][-1] == ev["origins"][0] - (HP.horizon - 1)  # h-step targets past the data are not scored
    assert rep.predictions["dates"][0] == ev["report_start"]
