"""Pages agree right after a price write (issue 19, point 7), in Debian Chromium under gunicorn (two workers).

Before: after an admin upload of 2013-03-04 the Forecast page showed LAST CLOSE 2013-03-01
beside DATA 2013-03-04 for minutes, and Track record kept "0 of 5 days known" (its cached
figures were keyed on the ledger alone, and nothing scored the new close).
"""
from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest

from contract.vocab import LedgerKind
from dashboard import ids
from scripts.web_server import WebServer
from store import ledger
from store.db import make_engine
from tests.support.browser import open_page, wait_js, web_env

pytestmark = pytest.mark.e2e

NEW_DAY, NEW_CLOSE = "2013-03-04", "57.00"
UPLOAD = f"Date,Open,High,Low,Close,Volume\n{NEW_DAY},56.50,57.30,56.20,{NEW_CLOSE},90000000\n"


@pytest.fixture(scope="module")
def store_url(two_ticker_store, tmp_path_factory) -> str:
    """A private copy of the two-ticker store whose AAPL champions published their forecasts from 2013-03-01."""
    path = tmp_path_factory.mktemp("after-upload") / "store.db"
    shutil.copy(two_ticker_store, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    published = ledger.publish_champion_forecasts(engine, "AAPL", kind=LedgerKind.LIVE,
                                                  now=datetime(2013, 3, 1, 23, tzinfo=timezone.utc))
    assert published.written == 15  # three cells, five days each
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def web(store_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("after-upload-web")
    with WebServer(web_env(store_url, tmp), workers=2, log_path=tmp / "gunicorn.log") as server:
        yield server


@pytest.fixture
def page(chromium):
    pg = open_page(chromium)
    yield pg
    pg.context.close()


def _text(page, id_: str) -> str:
    return page.inner_text(f"#{id_}")


def _forecast(page, url: str) -> dict[str, str]:
    """The Forecast page's LAST CLOSE and DATA cards and the newest day its chart draws."""
    page.goto(url + "/?ticker=AAPL")
    page.wait_for_selector(f"#{ids.Forecast.LAST_CLOSE}", timeout=20000)
    wait_js(page, f"document.querySelector('#{ids.Forecast.GRAPH} .js-plotly-plot') && "
            f"document.querySelector('#{ids.Forecast.GRAPH} .js-plotly-plot').data", timeout=20000)
    last_x = page.evaluate(f"""() => {{ const t = document.querySelector('#{ids.Forecast.GRAPH} .js-plotly-plot')
        .data.find(d => d.name === 'actual close'); return String(t.x[t.x.length - 1]).slice(0, 10); }}""")
    return {"last": _text(page, ids.Forecast.LAST_CLOSE), "data": _text(page, ids.Forecast.DATA_CARD), "chart": last_x}


def _track(page, url: str) -> dict[str, str]:
    """The Track record page's verdict and the fan chart's text (its subtitle counts the days known)."""
    page.goto(url + "/track-record?ticker=AAPL")
    wait_js(page, f"document.querySelector('#{ids.Track.VERDICT}') && "
            f"document.querySelector('#{ids.Track.VERDICT}').innerText.length > 0", timeout=20000)
    wait_js(page, f"document.querySelector('#{ids.Track.FAN}').innerText.includes('days known')",
            timeout=20000)
    return {"verdict": _text(page, ids.Track.VERDICT), "fan": _text(page, ids.Track.FAN)}


def _upload(page, url: str, path) -> None:
    page.goto(url + "/admin")
    page.wait_for_selector(f"#{ids.Admin.RUNS_TABLE}, #{ids.Admin.RUNS} > p", timeout=20000)
    page.set_input_files(f"#{ids.Admin.UPLOAD} input[type=file]", str(path))
    page.wait_for_selector(f"#{ids.Admin.UPLOAD_SUMMARY}", timeout=10000)
    page.click(f"#{ids.Admin.IMPORT}")
    page.wait_for_selector(f"#{ids.Admin.IMPORTED}", timeout=10000)


def test_forecast_and_track_record_name_the_new_close_right_after_an_upload(web, page, tmp_path):
    for _ in range(3):  # warm the caches of both gunicorn workers on the old store
        before, track = _forecast(page, web.url), _track(page, web.url)
    assert "on 2013-03-01" in before["last"] and "last day 2013-03-01" in before["data"]
    assert before["chart"] == "2013-03-01"
    assert "0 of 5 days known" in track["fan"] and f"when the close of {NEW_DAY} arrives" in track["verdict"]

    csv = tmp_path / "aapl-day.csv"
    csv.write_text(UPLOAD)
    _upload(page, web.url, csv)

    for _ in range(3):  # whichever worker answers, the very next load shows the new close everywhere
        after, track = _forecast(page, web.url), _track(page, web.url)
        assert f"${NEW_CLOSE}" in after["last"] and f"on {NEW_DAY}" in after["last"], after
        assert f"last day {NEW_DAY}" in after["data"] and after["chart"] == NEW_DAY, after
        assert "1 of 5 days known" in track["fan"], track
        assert f"when the close of {NEW_DAY} arrives" not in track["verdict"], track  # it arrived, and was scored
        assert "live one-day forecast of the GRU has been scored" in track["verdict"], track
    assert page.errors == []
