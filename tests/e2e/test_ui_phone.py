"""The dashboard at phone width (390 x 844, touch) in Debian Chromium (issue 13, point 7)."""
from __future__ import annotations

import pytest

from scripts.web_server import WebServer
from tests.support.browser import open_page, web_env
from dashboard import ids

pytestmark = pytest.mark.e2e

PHONE = dict(width=390, height=844, is_mobile=True, has_touch=True)


@pytest.fixture(scope="module")
def web(two_ticker_store, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui-phone")
    with WebServer(web_env(f"sqlite:///{two_ticker_store}", tmp), workers=1, log_path=tmp / "gunicorn.log") as server:
        yield server


@pytest.fixture
def phone(chromium):
    pg = open_page(chromium, **PHONE)
    yield pg
    pg.context.close()


def _box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def _overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def test_first_chart_starts_on_the_first_screen(web, phone):
    """Was: the four cards filled the first screen."""
    phone.goto(web.url + "/")
    phone.wait_for_selector(f"#{ids.Forecast.GRAPH} .main-svg", timeout=20000)
    assert _box(phone, f"#{ids.Forecast.GRAPH}")["y"] < 844 - 200  # a good part of the chart, not its first pixel
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    cards = [_box(phone, f"#{ids.Forecast.CARDS} .col-6:nth-child({i}) .card") for i in range(1, 5)]
    assert not any(_overlap(a, b) for i, a in enumerate(cards) for b in cards[i + 1:])
    assert phone.errors == []


def test_plotly_toolbar_is_hidden_until_hover_and_never_covers_range_buttons(web, phone):
    """Was: the always-visible Plotly toolbar covered the range buttons and the titles."""
    phone.goto(web.url + "/")
    phone.wait_for_selector(f"#{ids.Forecast.GRAPH} .main-svg", timeout=20000)
    phone.wait_for_timeout(300)
    opacity = phone.evaluate(f"(() => {{ const g = document.querySelector('#{ids.Forecast.GRAPH} .modebar-group');"
                             " return g ? getComputedStyle(g).opacity : '0'; })()")
    assert float(opacity) == 0.0
    title, buttons = _box(phone, f"#{ids.Forecast.GRAPH} .gtitle"), _box(phone, f"#{ids.Forecast.GRAPH} .rangeselector")
    assert title["x"] >= 0 and title["x"] + title["width"] <= 390  # the whole title is on screen
    assert not _overlap(title, buttons)


def test_loss_chart_legend_does_not_cover_its_axis_title(web, phone):
    """Was: the loss chart's labels crowded at phone width."""
    phone.goto(web.url + "/compare")
    phone.wait_for_selector(f"#{ids.Compare.LOSS} .main-svg", timeout=20000)
    axis_title, legend = _box(phone, f"#{ids.Compare.LOSS} .xtitle"), _box(phone, f"#{ids.Compare.LOSS} .legend")
    assert not _overlap(axis_title, legend)
    assert "no dropout" in phone.inner_text(f"#{ids.Compare.LOSS_NOTE}")


def test_admin_tables_fit_the_phone_without_sideways_scroll(web, phone):
    """Was: the champions, prices and audit tables (and the model list) scrolled sideways at 390 px."""
    phone.goto(web.url + "/admin")
    for table in (f"#{ids.Admin.CHAMPIONS_TABLE} td", f"#{ids.Admin.PRICES_TABLE} td", f"#{ids.Admin.AUDIT_TABLE} td", f"#{ids.Admin.MODELS_TABLE} td"):
        phone.wait_for_selector(table, timeout=20000)
    # the containers that would scroll sideways (overflow auto), and every table cell on screen
    wide = phone.evaluate("""() => [...document.querySelectorAll(
            '.table-responsive, #admin-models-table .dash-spreadsheet-container')]
        .filter(e => e.scrollWidth > e.clientWidth + 1)
        .map(e => (e.id || e.firstElementChild?.id || e.className) + ': ' + e.scrollWidth + ' > ' + e.clientWidth)""")
    assert wide == []
    cut = phone.evaluate("""() => [...document.querySelectorAll('td, th')]
        .filter(e => e.offsetParent !== null && e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .map(e => e.innerText).slice(0, 5)""")
    assert cut == []
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    # a stacked row still names each value: the column title is drawn before it
    label = phone.evaluate(f"getComputedStyle(document.querySelector('#{ids.Admin.CHAMPIONS_TABLE} td'), '::before').content")
    assert label == '"cell"'
    assert phone.errors == []
