"""The Forecast page says why a forecast is stale and what fixes it."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from store.prices import TickerSummary

FC = {"last_date": "2013-03-01", "last_close": 430.0, "dates": ["2013-03-04"], "predicted": [431.0],
      "lower80": [420.0], "upper80": [440.0], "lower95": [410.0], "upper95": [450.0]}


@pytest.fixture
def stale_reason(dash_client, sqlite_url):
    """The page's function, imported once an app has registered the pages."""
    dash_client(sqlite_url)
    from dashboard.pages.forecast import stale_reason

    return stale_reason


def status(last: date, source: str = "yahoo") -> TickerSummary:
    """A ticker's stored range ending ``last``, its newest day from ``source``."""
    return TickerSummary("GOOG", date(2004, 8, 19), last, 2148, [source], source,
                         datetime(2013, 3, 4, 22, tzinfo=timezone.utc))


@pytest.mark.parametrize("last, source, today, why, fix", [
    # a newer close is stored than the forecast starts from: the serve step has not run since
    (date(2013, 3, 4), "csv:goog-2013-03-04.csv", date(2013, 3, 4),
     "made from the close of 2013-03-01, but the close of 2013-03-04 is stored: not served since",
     "python -m jobs serve --ticker GOOG"),
    # the forecast is current but the data is old: fetch (Yahoo) ...
    (date(2013, 3, 1), "yahoo", date(2013, 3, 20), "no newer close is stored, from yahoo",
     "python -m jobs nightly --ticker GOOG (fetches from yahoo, then serves)"),
    # ... or import (a CSV ticker is never fetched)
    (date(2013, 3, 1), "csv:goog.csv", date(2013, 3, 20), "no newer close is stored, from csv:goog.csv",
     "import the new days: python -m jobs import-csv FILE --ticker GOOG"),
])
def test_a_stale_forecast_names_its_cause_and_its_fix(stale_reason, last, source, today, why, fix):
    """Each cause of staleness has its own sentence and its own command."""
    reason = stale_reason(FC, status(last, source), today)
    assert reason is not None and why in reason[0] and reason[1].startswith(fix)


def test_a_forecast_from_the_newest_recent_close_is_not_stale(stale_reason):
    """No warning when the forecast starts from the newest close and that close is recent."""
    assert stale_reason(FC, status(date(2013, 3, 1)), date(2013, 3, 4)) is None


def test_a_newer_close_with_a_clock_running_is_being_prepared(stale_reason):
    """A clock serves stale champions every minute: the page says the new forecast is being prepared."""
    why, fix = stale_reason(FC, status(date(2013, 3, 4), "csv:goog.csv"), date(2013, 3, 4), preparing=True)
    assert why == "made from the close of 2013-03-01; the forecast from the close of 2013-03-04 is being prepared"
    assert fix.startswith("none needed: reload in a minute") and "python -m jobs serve --ticker GOOG" in fix
