"""NYSE trading days, from ``exchange_calendars`` rather than a hand-written holiday list."""
from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

_NEW_YORK = ZoneInfo("America/New_York")


@lru_cache(maxsize=1)
def _nyse() -> Any:  # an exchange_calendars ExchangeCalendar (the package ships no types)
    import exchange_calendars as xcals  # ~1 s to import; only when first needed

    # The default calendar covers only ~20 years back; the offline sample starts in 2000
    # and a CSV import may reach back to 1970 (its holidays are checked too).
    return xcals.get_calendar("XNYS", start="1970-01-02")


def next_trading_days(after: date, n: int) -> list[date]:
    """The ``n`` NYSE sessions strictly after ``after``."""
    cal = _nyse()
    sessions = cal.sessions_in_range(pd.Timestamp(after) + pd.Timedelta(days=1), pd.Timestamp(after) + pd.Timedelta(days=n * 2 + 15))
    return [ts.date() for ts in sessions[:n]]


def is_trading_day(day: date) -> bool:
    return bool(_nyse().is_session(pd.Timestamp(day)))


def trading_days_between(start: date, end: date) -> list[date]:
    """NYSE sessions in [start, end]."""
    return [ts.date() for ts in _nyse().sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))]


def on_nyse_calendar(ticker: str) -> bool:
    """True for a US-listed symbol (NYSE and Nasdaq keep the same holidays): no exchange
    suffix (``0700.HK``), not an index (``^N225``), not a currency or future (``EURUSD=X``).
    """
    return not any(mark in ticker for mark in ".^=")


def market_date(now: datetime) -> date:
    """The New York date at ``now`` (aware): the day the market's sessions, its closes and the schedule count
    by. On a UTC server it differs from ``now``'s own date from 19:00 or 20:00 New York until midnight."""
    return now.astimezone(_NEW_YORK).date()


def closes_missed(last_close: date, now: datetime) -> int:
    """NYSE sessions after ``last_close`` whose close (16:00 New York, earlier on a half day) has passed
    at ``now`` (aware): how many trading days old the newest stored close is (0: up to date)."""
    cal = _nyse()
    today = market_date(now)
    if today <= last_close:
        return 0
    sessions = cal.sessions_in_range(pd.Timestamp(last_close) + pd.Timedelta(days=1), pd.Timestamp(today))
    closes = cal.closes.reindex(sessions)
    return int((closes <= pd.Timestamp(now).tz_convert("UTC")).sum())
