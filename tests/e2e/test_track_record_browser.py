"""The Track record page under real gunicorn, in headless Chromium (Playwright).

The store is the fixture store with a synthetic ledger (live rows, the GRU's last 60
days also replayed); a screenshot goes to artifacts/screenshots/track-record.png.
"""
from __future__ import annotations

import csv
import io
import re

import pytest

from store.db import make_engine
from store.ledger import CSV_HEADER
from scripts.bench_ledger import fill_ledger
from scripts.web_server import WebServer
from tests.e2e.test_dashboard_browser import SHOTS
from tests.support.dashboard_env import ADMIN
from dashboard import ids
from tests.support.browser import wait_js

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
def page(chromium_browser):
    """A desktop-width page of the session's one Chromium (tests/conftest.py), downloads allowed."""
    ctx = chromium_browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = ctx.new_page()
    pg.errors = []
    pg.on("console", lambda m: m.type == "error" and pg.errors.append(m.text))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    ctx.close()


def test_track_record_draws_judges_pages_and_downloads(web, page):
    page.goto(web.url + "/track-record")
    wait_js(page, "document.querySelectorAll('.js-plotly-plot .main-svg').length >= 3", timeout=20000)
    # the charts and the verdict arrive through the cell callback the page fires as it loads
    wait_js(page, f"document.querySelector('#{ids.Track.VERDICT}').innerText.length > 0", timeout=20000)
    wait_js(page, f"document.querySelector('#{ids.Track.CUMULATIVE}').innerText.includes('model changed')",
            timeout=20000)
    assert page.inner_text(f"#{ids.Track.VERDICT}").startswith("Over the last 60 live one-day forecasts the GRU was")
    assert "what happened" in page.inner_text(f"#{ids.Track.FAN}") and "model changed" in page.inner_text(f"#{ids.Track.CUMULATIVE}")
    wait_js(page, f"document.querySelector('#{ids.Track.TABLE_COUNT}').innerText.includes('page 1 of')",
            timeout=10000)
    first = page.inner_text(f"#{ids.Track.TABLE}")
    page.screenshot(path=str(SHOTS / "track-record.png"), full_page=True)

    page.click(f"#{ids.Track.TABLE} .next-page")  # server-side paging
    wait_js(page, f"document.querySelector('#{ids.Track.TABLE_COUNT}').innerText.includes('page 2 of')",
            timeout=10000)
    assert page.inner_text(f"#{ids.Track.TABLE}") != first

    page.click(f"#{ids.Track.FILTER_KIND}")  # only the replayed rows
    page.get_by_role("option", name="replayed", exact=True).click()  # Dash 4's dropdown lists options in a popover
    wait_js(page, f"document.querySelector('#{ids.Track.TABLE_COUNT}').innerText.includes('page 1 of')",
            timeout=10000)
    kinds = page.locator(f"#{ids.Track.TABLE} td[data-dash-column='kind']").all_inner_texts()
    assert kinds and set(kinds) == {"replayed"}

    shown = int(page.inner_text(f"#{ids.Track.TABLE_COUNT}").split(" rows")[0].replace(",", ""))
    with page.expect_download() as info:
        page.click(f"#{ids.Track.DOWNLOAD_BTN}")
    lines = list(csv.reader(io.StringIO(open(info.value.path(), encoding="utf-8").read())))
    assert info.value.suggested_filename == "AAPL-gru-ledger.csv" and lines[0] == CSV_HEADER
    assert len(lines) - 1 == shown and {(r[0], r[5], r[15]) for r in lines[1:]} == {("AAPL", "gru", "replayed")}

    page.click("label:has-text('LSTM')")
    wait_js(page, f"document.querySelector('#{ids.Track.VERDICT}').innerText.includes('the LSTM was')",
            timeout=10000)
    assert page.errors == []


CENTS = re.compile(r"^[-\u2212]?\$\d{1,3}(,\d{3})*\.\d{2}$")  # $1,234.56; an error may be -$0.42 (d3 writes U+2212)
RAW_FLOAT = re.compile(r"\d\.\d{3,}")  # -0.205059, 123.4567: more decimals than any house number has


def _open(page, url: str) -> None:
    page.goto(url + "/track-record")
    wait_js(page, "document.querySelectorAll('.js-plotly-plot .main-svg').length >= 3", timeout=20000)
    wait_js(page, f"document.querySelector('#{ids.Track.VERDICT}').innerText.length > 0", timeout=20000)
    wait_js(page, f"document.querySelector('#{ids.Track.TABLE_COUNT}').innerText.includes('page 1 of')",
            timeout=10000)
    wait_js(page, f"document.querySelectorAll('#{ids.Track.SCORES} td').length > 0", timeout=10000)


def _column(page, table: str, header: str) -> list[str]:
    """The cell texts under the header whose text starts with ``header``."""
    heads = [h.strip() for h in page.locator(f"#{table} th").all_inner_texts()]
    index = next((i for i, h in enumerate(heads) if h.startswith(header)), None)
    assert index is not None, f"no {header!r} column in {heads}"
    return [t.strip() for t in page.locator(f"#{table} tr:has(td) td:nth-child({index + 1})").all_inner_texts()]


def test_track_record_tables_show_cents_and_rates_beside_their_target(web, page):
    """Was: prices as 187.4 and 187.43 (no $, no fixed cents), coverage as a bare 84 under "80% band held %"."""
    _open(page, web.url)
    for header in ("Predicted", "Lower 80%", "Upper 80%"):
        cells = _column(page, ids.Track.TABLE, header)
        assert cells and all(CENTS.match(c) for c in cells), (header, cells)
    scored = [c for c in _column(page, ids.Track.TABLE, "Actual") if c]
    assert scored and all(CENTS.match(c) for c in scored), scored
    errors = [c for c in _column(page, ids.Track.TABLE, "Error") if c]
    assert errors and all(CENTS.match(c) for c in errors), errors

    for header in ("RMSE", "persistence RMSE", "MAE"):
        cells = _column(page, ids.Track.SCORES, header)
        assert cells and all(CENTS.match(c) for c in cells), (header, cells)
    ratios = _column(page, ids.Track.SCORES, "RMSE / persistence")
    assert ratios and all(re.fullmatch(r"\d+\.\d{4}", c) for c in ratios), ratios
    for level in ("80", "95"):
        held = _column(page, ids.Track.SCORES, f"{level}% band coverage")
        assert held and all(re.fullmatch(rf"\d+\.\d% \(target {level}%\)", c) for c in held), held
    right = _column(page, ids.Track.SCORES, "direction right")
    assert right and all(re.fullmatch(r"\d+\.\d%", c) for c in right), right
    base = _column(page, ids.Track.SCORES, "base rate")  # the base rate sits beside the direction
    assert base and all(re.fullmatch(r"\d+\.\d%", c) for c in base), base
    assert page.errors == []


def _hover(page, graph: str, fraction: float) -> str:
    """Move the real mouse to ``fraction`` of the plot's width (mid height); what the hover box says."""
    x, y = page.evaluate(f"""(() => {{ const gd = document.querySelector('#{graph} .js-plotly-plot'),
        l = gd._fullLayout, r = gd.getBoundingClientRect();
        return [r.left + l.xaxis._offset + l.xaxis._length * {fraction}, r.top + l.yaxis._offset + l.yaxis._length / 2];
    }})()""")
    page.mouse.move(x - 5, y)
    page.mouse.move(x, y, steps=3)
    page.wait_for_timeout(300)  # plotly throttles hover redraws
    page.wait_for_selector(f"#{graph} .hoverlayer .legend, #{graph} .hoverlayer .hovertext", timeout=3000)
    return page.locator(f"#{graph} .hoverlayer").first.text_content()


def test_track_record_hovers_have_the_tables_precision(web, page):
    """Was: the fan's hover said 187.43 (no $), the coverage bars 84% (no decimal, no target)."""
    _open(page, web.url)
    fan = _hover(page, ids.Track.FAN, 0.5)  # the close before the origin
    prices = re.findall(r"[-\u2212]?\$[\d,]+\.\d+", fan)
    assert prices and all(CENTS.match(p) for p in prices), fan
    assert not RAW_FLOAT.search(fan.replace(",", "")), fan
    coverage = _hover(page, ids.Track.COVERAGE, 1 / 10)  # horizon 1's bars
    assert re.search(r"\d+\.\d% of \d+ closes \(target 80%\)", coverage), coverage
    assert re.search(r"\(target 95%\)", coverage) and not RAW_FLOAT.search(coverage), coverage
    cumulative = _hover(page, ids.Track.CUMULATIVE, 0.5)
    assert re.search(r"-?\d[\d,]*\.\d{2} \$²", cumulative) and not RAW_FLOAT.search(cumulative.replace(",", "")), \
        cumulative
    assert page.errors == []


def test_the_downloaded_csv_has_a_ticker_column_and_prices_to_the_cent(web, page):
    """Was: no ticker column, and prices written as 187.426512."""
    _open(page, web.url)
    with page.expect_download() as info:
        page.click(f"#{ids.Track.DOWNLOAD_BTN}")
    rows = list(csv.DictReader(io.StringIO(open(info.value.path(), encoding="utf-8").read())))
    assert rows and rows[0].keys() == set(CSV_HEADER) and "Ticker" in CSV_HEADER
    assert {r["Ticker"] for r in rows} == {"AAPL"}
    prices = [r[c] for r in rows for c in ("Predicted", "Lower80", "Upper80", "Lower95", "Upper95", "Actual",
                                           "Persistence") if r[c]]
    assert prices and all(re.fullmatch(r"\d+\.\d{2}", p) for p in prices), prices[:10]


@pytest.mark.parametrize("width", [1400, 390])
def test_track_record_screenshot_at_desktop_and_phone_width(web, chromium_browser, width):
    """A full-page screenshot per width (artifacts/screenshots/track-record-<width>.png), and no sideways page."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx = chromium_browser.new_context(viewport={"width": width, "height": 900})
    pg = ctx.new_page()
    _open(pg, web.url)
    pg.screenshot(path=str(SHOTS / f"track-record-{width}.png"), full_page=True)
    for part in (ids.Track.FAN, ids.Track.COVERAGE, ids.Track.SCORES, ids.Track.TABLE):  # at full size, to look at
        pg.locator(f"#{part}").screenshot(path=str(SHOTS / f"track-record-{width}-{part}.png"))
    assert pg.evaluate("document.documentElement.scrollWidth") <= width + 1  # tables scroll inside, not the page
    ctx.close()
