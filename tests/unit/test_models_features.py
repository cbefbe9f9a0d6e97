"""Features, split and scaler: chronological, and fit on training rows only."""
import numpy as np
import pytest

from models.features import CLOSE, SplitSpec, prepare, returns_frame
from tests.support.prices import prices


def test_returns_are_daily_percent_changes():
    frame = prices(10)
    rets = returns_frame(frame)
    assert len(rets) == 9
    assert rets["close"].iloc[0] == pytest.approx(frame["close"].iloc[1] / frame["close"].iloc[0] - 1)


def test_zero_volume_day_does_not_make_infinities():
    frame = prices(10)
    frame.iloc[3, frame.columns.get_loc("volume")] = 0
    assert np.isfinite(returns_frame(frame).to_numpy()).all()


def test_split_is_chronological_with_validation_from_the_end_of_training():
    val_start, test_start = SplitSpec(test_days=50, val_fraction=0.2).boundaries(300)
    assert test_start == 250 and val_start == 200
    assert SplitSpec(test_fraction=0.1).boundaries(300)[1] == 270


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"test_days": 0}, "test_days"),
        ({"test_fraction": 1.5}, "test_fraction"),
        ({"val_fraction": 0.0}, "val_fraction"),
    ],
)
def test_bad_split_settings_say_what_to_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SplitSpec(**kwargs)


def test_scaler_ignores_validation_and_test_rows():
    frame = prices()
    a = prepare(frame, 3, 5, SplitSpec(test_days=60))
    changed = frame.copy()
    changed.iloc[-90:, :4] *= 3.0  # wild moves in validation (starts at row 203) and test
    b = prepare(changed, 3, 5, SplitSpec(test_days=60))
    np.testing.assert_array_equal(a.scaler.mean, b.scaler.mean)
    np.testing.assert_array_equal(a.scaler.std, b.scaler.std)


def test_training_and_validation_targets_stay_inside_their_period():
    p = prepare(prices(), 3, 5, SplitSpec(test_days=60))
    train = p.targets_between(0, p.val_start)
    val = p.targets_between(p.val_start, p.test_start)
    # the whole H-step target of every training window ends before validation starts, and so on
    assert train.max() + p.horizon <= p.val_start
    assert val.min() >= p.val_start and val.max() + p.horizon <= p.test_start


def test_targets_are_the_next_h_scaled_close_returns():
    frame = prices()
    p = prepare(frame, 3, 5, SplitSpec(test_days=60))
    r = returns_frame(frame)["close"].to_numpy()
    np.testing.assert_allclose(p.to_returns(p.y[10]), r[10:15], rtol=1e-5)
    assert np.isnan(p.y[-1, 1:]).all()  # past the end of the data: unknown
    assert p.base[10] == frame["close"].iloc[10] and p.close[10] == frame["close"].iloc[11]
    assert CLOSE == 3


def test_too_short_history_is_refused_with_advice():
    with pytest.raises(ValueError, match="too few"):
        prepare(prices(12), 3, 5, SplitSpec(test_days=5))
