"""Walk-forward backtest: every test day predicted once, and still no look-ahead."""
import pytest

from models.backtest import WalkPlan, walk_forward
from models.features import SplitSpec
from models.network import Hyperparams
from models.pipeline import fit_cell
from models.rolling import RollingSpec
from models.serialization import StoredCell, model_to_bytes
from models.training import FitControls, WarmStart
from tests.support.prices import prices

pytestmark = pytest.mark.slow
HP = Hyperparams(cell="gru", units=(8, 4), epochs=2, patience=2)


@pytest.fixture(scope="module")
def stored():
    """A small GRU trained on the first part of a synthetic history, as stored (bytes + hp + scaler + split)."""
    frame = prices(360)
    fit = fit_cell(frame, HP, SplitSpec(test_days=60), controls=FitControls(seed=1), rolling=RollingSpec(refit_every=25))
    split = (fit.prepared.val_start, fit.prepared.test_start)
    return StoredCell(model_to_bytes(fit.model), HP, fit.prepared.scaler, split), fit


def test_every_test_day_is_predicted_and_the_first_block_is_the_stored_model(stored):
    cell, fit = stored
    wf = walk_forward(cell, prices(360), WalkPlan(every=25, warm_start=WarmStart(epochs=1)))
    # the rolling evaluation's every origin (its first block of 25: the stored model as it is), named by the
    # close it forecasts from: the day before each test day
    evaluated = fit.report.backtest["calibration"]
    assert len(wf.dates) == len(evaluated["dates"]) == 60 and wf.dates[:-1] == evaluated["dates"][1:]
    assert len(wf.updates) == 2  # blocks start at test days 0, 25, 50
    assert list(wf.predicted[:25]) == pytest.approx([path[0] for path in evaluated["predicted"][:25]], rel=1e-6)


def test_walk_forward_never_sees_the_days_it_predicts(stored):
    cell, _ = stored
    frame = prices(360)
    plan = WalkPlan(every=25, mode="refit", warm_start=WarmStart(epochs=1))
    changed = frame.copy()
    change_at = frame.index[-20]  # inside the last block
    changed.loc[change_at:, ["open", "high", "low", "close"]] *= 1.5
    a = walk_forward(cell, frame, plan)
    b = walk_forward(cell, changed, plan)
    k = a.dates.index(change_at.strftime("%Y-%m-%d"))
    assert list(a.predicted[: k + 1]) == list(b.predicted[: k + 1])
    assert list(a.predicted[k + 1 :]) != list(b.predicted[k + 1 :])


@pytest.mark.parametrize("kwargs, message", [({"mode": "magic"}, "mode"), ({"every": 0}, "every")])
def test_bad_backtest_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WalkPlan(**kwargs)
