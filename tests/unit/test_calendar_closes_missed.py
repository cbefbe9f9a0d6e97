"""How many trading days old a close is: NYSE sessions whose close has passed, holidays and half days included."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from marketdata.calendar import closes_missed, market_date


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize("last, now, missed", [
    (date(2026, 12, 2), utc(2026, 12, 3, 20, 59), 0),  # Thursday's close (16:00 New York = 21:00 UTC) not yet
    (date(2026, 12, 2), utc(2026, 12, 3, 21, 0), 1),  # ... now it has passed
    (date(2026, 12, 3), utc(2026, 12, 3, 22, 0), 0),  # stored the same evening: up to date
    (date(2026, 12, 4), utc(2026, 12, 6, 12, 0), 0),  # a weekend misses nothing
    (date(2026, 11, 25), utc(2026, 11, 27, 17, 59), 0),  # Thanksgiving (26th) is no session; the 27th closes at 13:00 NY
    (date(2026, 11, 25), utc(2026, 11, 27, 18, 0), 1),  # ... which is 18:00 UTC
    (date(2026, 11, 27), utc(2026, 12, 3, 15, 0), 3),  # Mon 30, Tue 1, Wed 2
    (date(2026, 12, 10), utc(2026, 12, 3, 22, 0), 0),  # a close "from the future" (clock skew) is not negative
])
def test_closes_missed(last, now, missed):
    assert closes_missed(last, now) == missed


@pytest.mark.parametrize("now, day", [
    (utc(2026, 12, 6, 1, 30), date(2026, 12, 5)),  # 20:30 EST: still Saturday in New York
    (utc(2026, 7, 4, 3, 59), date(2026, 7, 3)),  # 23:59 EDT
    (utc(2026, 7, 4, 4, 0), date(2026, 7, 4)),  # midnight EDT
    (utc(2026, 11, 1, 5, 30), date(2026, 11, 1)),  # 01:30 EDT... then 01:30 EST an hour later, the same date
])
def test_market_date_is_new_yorks(now, day):
    assert market_date(now) == day
