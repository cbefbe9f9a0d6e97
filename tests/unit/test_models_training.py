"""Training: reproducible with a seed, cancellable between epochs, and free of look-ahead."""
import pytest

from models.features import SplitSpec
from models.network import Hyperparams
from models.pipeline import fit_cell
from models.training import FitControls, TrainingCancelled
from tests.support.prices import prices

SMALL = Hyperparams(cell="gru", units=(8, 4), epochs=3, patience=3)
SPLIT = SplitSpec(test_days=80)

pytestmark = pytest.mark.slow


def test_same_seed_same_predictions():
    frame = prices(400)
    a = fit_cell(frame, SMALL, SPLIT, controls=FitControls(seed=7))
    b = fit_cell(frame, SMALL, SPLIT, controls=FitControls(seed=7))
    assert a.report.predictions["predicted"] == b.report.predictions["predicted"]
    assert a.history.val_loss == b.history.val_loss


def test_progress_is_reported_per_epoch_and_cancel_stops_between_epochs():
    seen = []
    with pytest.raises(TrainingCancelled):
        fit_cell(prices(400), SMALL, SPLIT, controls=FitControls(
            on_epoch=lambda e, n, logs: seen.append((e, n, sorted(logs))), should_cancel=lambda: len(seen) >= 1))
    assert seen == [(1, 3, ["loss", "val_loss"])]  # stopped after the first epoch


def test_changing_test_prices_does_not_change_earlier_predictions():
    frame = prices(400)
    change_at = frame.index[-40]  # a day inside the 80-day test period
    changed = frame.copy()
    changed.loc[change_at:, ["open", "high", "low", "close"]] *= 1.3
    changed.loc[change_at:, "volume"] *= 2
    a = fit_cell(frame, SMALL, SPLIT, controls=FitControls(seed=3)).report.predictions
    b = fit_cell(changed, SMALL, SPLIT, controls=FitControls(seed=3)).report.predictions
    day = change_at.strftime("%Y-%m-%d")
    k = a["dates"].index(day)
    assert a["dates"] == b["dates"]
    # The prediction for the changed day itself was made the evening before: unchanged too.
    assert a["predicted"][: k + 1] == b["predicted"][: k + 1]
    assert a["lower95"][: k + 1] == b["lower95"][: k + 1]
    # Sanity: the change is visible where it should be.
    assert a["actual"][k] != b["actual"][k]
    assert a["predicted"][k + 1 :] != b["predicted"][k + 1 :]
