"""The Track record page under real gunicorn, in headless Chromium (Playwright).

The store is the fixture store with a synthetic ledger (live rows, the GRU's last 60
days also replayed); a screenshot goes to artifacts/screenshots/track-record.png.
"""
from __future__ import annotations

import csv
import io

import pytest

from store.db import make_engine
from store.ledger import CSV_HEADER
from scripts.bench_ledger import fill_ledger
from scripts.web_server import WebServer
from tests.e2e.test_dashboard_browser import SHOTS, browser  # noqa: F401
from tests.support.dashboard_env import ADMIN
from dashboard import ids

pytestmark = pytest.mark.e2e


@pytest.fixture
def web(fixture_store_url, tmp_path):
    """gunicorn (2 workers) on the fixture store plus 200 days of ledger."""
    engine = make_engine(fixture_store_url)
    fill_ledger(engine, ("AAPL",), days=200)
    engine.dispose()
    env = {"DATABASE_URL": fixture_store_url, "CACHE_DIR": str(tmp_path / "cache"), "ANALYST_USER": "",
           "ANALYST_PASSWORD": "", "REDIS_URL": "", "ADMIN_USER": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1]}
    with WebServer(env, workers=2, log_path=tmp_path / "gunicorn.log") as server:
        yield server


@pytest.fixture
def page(browser):  # noqa: F811 - the browser fixture of the dashboard tests
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = ctx.new_page()
    pg.errors = []
    pg.on("console", lambda m: m.type == "error" and pg.errors.append(m.text))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    ctx.close()


def test_track_record_draws_judges_pages_and_downloads(web, page):
    page.goto(web.url + "/track-record")
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 3", timeout=20000)
    # the charts and the verdict arrive through the cell callback the page fires as it loads
    page.wait_for_function(f"document.querySelector('#{ids.Track.VERDICT}').innerText.length > 0", timeout=20000)
    page.wait_for_function(f"document.querySelector('#{ids.Track.CUMULATIVE}').innerText.includes('model changed')",
                           timeout=20000)
    assert page.inner_text(f"#{ids.Track.VERDICT}").startswith("Over the last 60 live one-day forecasts the GRU was")
    assert "what happened" in page.inner_text(f"#{ids.Track.FAN}") and "model changed" in page.inner_text(f"#{ids.Track.CUMULATIVE}")
    page.wait_for_function(f"document.querySelector('#{ids.Track.TABLE_COUNT}').innerText.includes('page 1 of')",
                           timeout=10000)
    first = page.inner_text(f"#{ids.Track.TABLE}")
    page.screenshot(path=str(SHOTS / "track-record.png"), full_page=True)

    page.click(f"#{ids.Track.TABLE} .next-page")  # server-side paging
    page.wait_for_function(f"document.querySelector('#{ids.Track.TABLE_COUNT}').innerText.includes('page 2 of')",
                           timeout=10000)
    assert page.inner_text(f"#{ids.Track.TABLE}") != first

    page.click(f"#{ids.Track.FILTER_KIND}")  # only the replayed rows
    page.get_by_role("option", name="replayed", exact=True).click()  # Dash 4's dropdown lists options in a popover
    page.wait_for_function(f"document.querySelector('#{ids.Track.TABLE_COUNT}').innerText.includes('page 1 of')",
                           timeout=10000)
    kinds = page.locator(f"#{ids.Track.TABLE} td[data-dash-column='kind']").all_inner_texts()
    assert kinds and set(kinds) == {"replayed"}

    shown = int(page.inner_text(f"#{ids.Track.TABLE_COUNT}").split(" rows")[0].replace(",", ""))
    with page.expect_download() as info:
        page.click(f"#{ids.Track.DOWNLOAD_BTN}")
    lines = list(csv.reader(io.StringIO(open(info.value.path(), encoding="utf-8").read())))
    assert info.value.suggested_filename == "AAPL-gru-ledger.csv" and lines[0] == CSV_HEADER
    assert len(lines) - 1 == shown and {(r[4], r[14]) for r in lines[1:]} == {("gru", "replayed")}

    page.click("label:has-text('LSTM')")
    page.wait_for_function(f"document.querySelector('#{ids.Track.VERDICT}').innerText.includes('the LSTM was')",
                           timeout=10000)
    assert page.errors == []
