"""The offline sample: split-adjusted so splits are not crashes, real crashes kept."""
import pandas as pd
import pytest

from marketdata.sources.base import SourceUnavailable
from marketdata.sources.offline import OfflineSampleSource


@pytest.fixture(scope="module")
def aapl():
    """AAPL from the bokeh-sampledata package, adjusted."""
    return OfflineSampleSource().fetch("AAPL")


def test_covers_2000_to_2013(aapl):
    assert len(aapl) >= 3000
    assert aapl.index[0] == pd.Timestamp("2000-03-01") and aapl.index[-1] == pd.Timestamp("2013-03-01")


@pytest.mark.parametrize("split_day", ["2000-06-21", "2005-02-28"])
def test_split_days_are_not_crashes(aapl, split_day):
    change = aapl["close"].pct_change().loc[split_day]
    assert change > -0.40, f"{split_day} still looks like a {change:.0%} day"


def test_real_crash_of_2000_09_29_stays(aapl):
    assert aapl["close"].pct_change().loc["2000-09-29"] == pytest.approx(-0.52, abs=0.01)


def test_open_high_low_adjusted_like_close(aapl):
    # If only close were adjusted, high would sit far above close on every pre-split day.
    assert (aapl["high"] >= aapl["close"] * 0.999).all() and (aapl["low"] <= aapl["close"] * 1.001).all()


def test_unknown_ticker_says_which_exist():
    with pytest.raises(SourceUnavailable, match="AAPL, MSFT, IBM, GOOG"):
        OfflineSampleSource().fetch("TSLA")
