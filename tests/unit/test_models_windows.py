"""Windows follow Keras 2's TimeseriesGenerator: rows i-L..i-1 -> target i, none dropped."""
import numpy as np
import pytest

from models.windows import make_windows, timeseries_windows, window_targets


def hand_built():
    """Six rows of two features; row r holds (r, 10r); targets are 100r."""
    data = np.array([[r, 10 * r] for r in range(6)], dtype=float)
    targets = np.array([100 * r for r in range(6)], dtype=float)
    return data, targets


def test_windows_match_the_hand_built_example():
    data, targets = hand_built()
    x, y = timeseries_windows(data, targets, length=3)
    # What TimeseriesGenerator(data, targets, length=3) yields, written out by hand:
    expected_x = [
        [[0, 0], [1, 10], [2, 20]],
        [[1, 10], [2, 20], [3, 30]],
        [[2, 20], [3, 30], [4, 40]],
    ]
    np.testing.assert_array_equal(x, expected_x)
    np.testing.assert_array_equal(y, [300, 400, 500])


def test_no_window_is_dropped_at_the_end():
    data, targets = hand_built()
    x, y = timeseries_windows(data, targets, length=2)
    # n - L windows, and the newest one ends at the last-but-one row and targets the last row
    assert len(x) == len(data) - 2
    np.testing.assert_array_equal(x[-1], data[3:5])
    assert y[-1] == targets[-1]


def test_the_forecast_window_holds_the_newest_rows():
    data, _ = hand_built()
    # target index n (one past the data) is the window that feeds the forecast
    x = make_windows(data, 3, np.array([len(data)]))
    np.testing.assert_array_equal(x[0], data[3:6])


def test_window_targets_respects_start_and_end():
    # start below L is raised to L: a window needs L rows before its target
    np.testing.assert_array_equal(window_targets(10, 3, start=0, end=6), [3, 4, 5])
    np.testing.assert_array_equal(window_targets(10, 3, start=7), [7, 8, 9])


@pytest.mark.parametrize("length", [0, -1])
def test_bad_window_length_is_refused(length):
    with pytest.raises(ValueError, match="window length"):
        window_targets(10, length)


def test_target_without_enough_history_is_refused():
    data, _ = hand_built()
    with pytest.raises(ValueError, match="needs `length` rows"):
        make_windows(data, 3, np.array([2]))
