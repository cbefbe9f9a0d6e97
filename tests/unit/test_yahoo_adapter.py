"""The Yahoo adapter against frames in yfinance 1.7's exact shape (no network here)."""
from datetime import date

import pandas as pd
import pytest
from yfinance.exceptions import YFRateLimitError

from marketdata.sources.base import SourceUnavailable
from marketdata.sources.yahoo import YahooSource, frame_from_download
from tests.support.yf_frames import ScriptedDownload, yf_empty, yf_frame

DAYS = pd.bdate_range("2024-01-02", periods=5)


def source(download, retries=3):
    sleeps = []
    src = YahooSource(download=download, retries=retries, backoff_s=1.0, sleep=sleeps.append)
    return src, sleeps


def test_multiindex_frame_becomes_price_frame():
    src, _ = source(ScriptedDownload(yf_frame("AAPL", DAYS, [10, 11, 12, 13, 14])))
    frame = src.fetch("AAPL")
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert frame.index.tz is None and frame.index.name == "date"
    assert frame["close"].tolist() == [10, 11, 12, 13, 14]


def test_full_history_asks_period_max_and_incremental_asks_start():
    dl = ScriptedDownload(yf_frame("AAPL", DAYS, [1, 2, 3, 4, 5]), yf_frame("AAPL", DAYS[-2:], [4, 5]))
    src, _ = source(dl)
    src.fetch("AAPL")
    src.fetch("AAPL", date(2024, 1, 5))
    assert dl.calls[0]["period"] == "max" and "start" not in dl.calls[0]
    assert dl.calls[1]["start"] == "2024-01-05"
    # auto_adjust=True is yfinance 1.x's default; we say it so a default change cannot drift prices.
    assert all(c["auto_adjust"] is True for c in dl.calls)


def test_empty_frame_is_an_explicit_error_after_retries():
    dl = ScriptedDownload(yf_empty("AAPL"), yf_empty("AAPL"), yf_empty("AAPL"))
    src, sleeps = source(dl)
    with pytest.raises(SourceUnavailable, match="after 3 attempts"):
        src.fetch("AAPL")
    assert sleeps == [1.0, 2.0]  # exponential backoff between attempts


def test_rate_limit_is_retried_then_succeeds():
    dl = ScriptedDownload(YFRateLimitError(), yf_frame("AAPL", DAYS, [1, 2, 3, 4, 5]))
    src, sleeps = source(dl)
    assert len(src.fetch("AAPL")) == 5
    assert sleeps == [1.0]


def test_rate_limit_every_time_names_the_cause():
    dl = ScriptedDownload(YFRateLimitError(), YFRateLimitError())
    src, _ = source(dl, retries=2)
    with pytest.raises(SourceUnavailable, match="Rate limited"):
        src.fetch("AAPL")


def test_network_error_is_retried():
    dl = ScriptedDownload(ConnectionError("reset by peer"), yf_frame("AAPL", DAYS, [1, 2, 3, 4, 5]))
    src, _ = source(dl)
    assert len(src.fetch("AAPL")) == 5


def test_duplicated_day_keeps_the_last_value():
    dup = DAYS.insert(3, DAYS[2])
    raw = yf_frame("AAPL", dup, [1, 2, 3, 3.5, 4, 5])
    frame = frame_from_download(raw, "AAPL")
    assert frame.index.is_unique
    assert frame.loc[DAYS[2], "close"] == 3.5


def test_missing_days_rows_are_dropped_not_stored():
    raw = yf_frame("AAPL", DAYS, [1, 2, 3, 4, 5])
    raw.iloc[2] = float("nan")  # yfinance leaves NaN rows for days it could not fill
    src, _ = source(ScriptedDownload(raw))
    frame = src.fetch("AAPL")
    assert len(frame) == 4 and DAYS[2] not in frame.index


def test_tz_aware_index_is_made_naive():
    raw = yf_frame("AAPL", DAYS, [1, 2, 3, 4, 5])
    raw.index = raw.index.tz_localize("America/New_York")
    assert frame_from_download(raw, "AAPL").index.tz is None


def test_frame_for_another_ticker_is_refused():
    src, _ = source(ScriptedDownload(yf_frame("MSFT", DAYS, [1, 2, 3, 4, 5])), retries=1)
    with pytest.raises(SourceUnavailable, match="no column for AAPL"):
        src.fetch("AAPL")
