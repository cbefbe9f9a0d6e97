"""The analyst pages as a demanding analyst uses them, in Debian Chromium at 1400 px (issue 13).

Each test names the defect it guards against; each fails on the behaviour before the fix.
"""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from scripts.web_server import WebServer
from tests.support.browser import open_page, wait_js, web_env
from dashboard import ids

pytestmark = pytest.mark.e2e

GD = f"document.querySelector('#{ids.Forecast.GRAPH} .js-plotly-plot')"


@pytest.fixture(scope="module")
def web(two_ticker_store, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui-analyst")
    with WebServer(web_env(f"sqlite:///{two_ticker_store}", tmp), workers=1, log_path=tmp / "gunicorn.log") as server:
        yield server


@pytest.fixture
def page(chromium):
    pg = open_page(chromium)
    yield pg
    pg.context.close()


def _day(value: str) -> date:
    return date.fromisoformat(str(value)[:10])


def _axes(page) -> dict:
    """The ranges as drawn (``_fullLayout``: plotly clamps to maxallowed there)."""
    return page.evaluate(f"(() => {{ const l = {GD}._fullLayout; return {{x: l.xaxis.range, y: l.yaxis.range}}; }})()")


def _forecast(page) -> dict:
    """The forecast trace as drawn: its dates and values."""
    return page.evaluate(f"(() => {{ const t = {GD}.data.find(t => (t.name || '').startsWith('next ')); "
                         "return {x: t.x, y: t.y}; })()")


def _open_forecast(page, url: str, search: str = "") -> None:
    page.goto(url + "/" + search)
    page.wait_for_selector(f"#{ids.Forecast.GRAPH} .main-svg", timeout=20000)


def _range_button(page, text: str) -> None:
    before = _axes(page)
    page.locator(f"#{ids.Forecast.GRAPH} g.button", has_text=text).first.click()
    wait_js(page, f"JSON.stringify({GD}.layout.yaxis.range) !== {repr(str(before['y']).replace(' ', ''))}"
            " && true", timeout=5000)
    page.wait_for_timeout(300)  # the y-fit follows the x relayout


def test_chart_opens_on_recent_months_with_the_forecast_and_a_title(web, page):
    """Was: opened on 3 years with the forecast a dot at the far right, no title, 'train' label off screen."""
    _open_forecast(page, web.url)
    axes, fc = _axes(page), _forecast(page)
    x0, x1 = _day(axes["x"][0]), _day(axes["x"][1])
    assert x0 <= _day(fc["x"][0]) and _day(fc["x"][-1]) <= x1  # the whole forecast is in view
    assert (x1 - x0).days <= 100  # recent months, so five forecast days are wide enough to read
    lo, hi = axes["y"]
    assert lo <= min(fc["y"]) and max(fc["y"]) <= hi and hi - lo < 0.5 * hi  # y fits the view, not 0-95
    title = page.evaluate(f"{GD}.layout.title.text")
    assert title.startswith("AAPL adjusted close")
    legend = page.locator(f"#{ids.Forecast.GRAPH} .legend").first.text_content()
    assert "train period" in legend and "test period" in legend  # the periods are named whatever is in view
    assert page.errors == []


def test_range_buttons_rescale_y_and_never_pass_the_forecast(web, page):
    """Was: 1m/6m kept y at 0-95 (a flat line); 'all' stretched x months past the data."""
    _open_forecast(page, web.url)
    last_forecast_day = _day(_forecast(page)["x"][-1])
    _range_button(page, "all")
    every = _axes(page)
    assert _day(every["x"][1]) <= last_forecast_day + timedelta(days=3)
    lowest = page.evaluate(f"Math.min(...{GD}._fullData[0].y)")
    assert every["y"][0] <= lowest  # 'all' shows the whole history's low
    _range_button(page, "1m")
    month = _axes(page)
    assert (_day(month["x"][1]) - _day(month["x"][0])).days <= 32
    span_all, span_month = every["y"][1] - every["y"][0], month["y"][1] - month["y"][0]
    assert span_month < 0.3 * span_all  # the month fills the height instead of being a flat line
    _range_button(page, "1y")
    year = _axes(page)
    assert _day(year["x"][1]) <= last_forecast_day + timedelta(days=3)  # 1y after 'all' is not a mostly empty year
    assert page.errors == []


def _hover_text(page, day: str) -> str:
    """Move the real mouse over ``day`` and return what the unified hover box lists."""
    x, y = page.evaluate(f"""(() => {{ const gd = {GD}, l = gd._fullLayout, r = gd.getBoundingClientRect();
        return [r.left + l.xaxis._offset + l.xaxis.d2p('{day}'), r.top + l.yaxis._offset + l.yaxis._length / 2]; }})()""")
    page.mouse.move(x, y)
    page.wait_for_timeout(300)  # plotly throttles hover redraws
    page.wait_for_selector(f"#{ids.Forecast.GRAPH} .hoverlayer .legend, #{ids.Forecast.GRAPH} .hoverlayer text", timeout=3000)
    return page.locator(f"#{ids.Forecast.GRAPH} .hoverlayer").first.text_content()


def test_hover_lists_only_what_exists_at_that_date(web, page):
    """Was: at the last close, 'next 5 days: 56.14, 80% band: 56.14, 95% band: 56.14'."""
    _open_forecast(page, web.url)
    fc = _forecast(page)
    last_close_day = page.evaluate(f"(() => {{ const t = {GD}.data[0]; return t.x[t.x.length - 1]; }})()")
    at_close = _hover_text(page, last_close_day)
    assert "actual close" in at_close and "$" in at_close
    assert "next " not in at_close and "band" not in at_close and "forecast" not in at_close
    at_forecast = _hover_text(page, fc["x"][0])
    assert "forecast $" in at_forecast and "80%: $" in at_forecast and "95%: $" in at_forecast
    assert "actual close" not in at_forecast  # no close exists on a forecast day


def test_ticker_travels_with_links_brand_title_and_heading(web, page):
    """Was: from /?ticker=MSFT the navbar's Residuals opened AAPL; brand and tab title said AAPL."""
    _open_forecast(page, web.url, "?ticker=MSFT")
    wait_js(page, "document.title === 'Forecast - MSFT'", timeout=5000)
    assert page.inner_text(f"#{ids.Nav.BAR} .navbar-brand").startswith("MSFT")
    assert page.get_attribute("#nav-residuals", "href").endswith("/residuals?ticker=MSFT")
    page.click("#nav-residuals")
    page.wait_for_selector(f"#{ids.Residuals.TIME} .main-svg", timeout=20000)
    assert "MSFT" in page.inner_text("h1")
    wait_js(page, "document.title === 'Residuals - MSFT'", timeout=5000)
    assert "active" in page.get_attribute("#nav-residuals", "class")
    page.click("#nav-compare")
    page.wait_for_selector(f"#{ids.Compare.TABLE}", timeout=20000)
    assert "MSFT" in page.inner_text("h1") and page.url.endswith("/compare?ticker=MSFT")
    for link in page.locator(f"#{ids.Nav.BAR} a.nav-link").all():  # every page, whichever pages exist
        assert link.get_attribute("href").endswith("?ticker=MSFT"), link.get_attribute("href")
    assert page.errors == []


def test_unknown_ticker_gets_a_visible_notice(web, page):
    """Was: ?ticker=IBM (not configured) silently showed AAPL."""
    page.goto(web.url + "/?ticker=IBM")
    page.wait_for_selector(ids.css(ids.refused(ids.Forecast.PAGE)), timeout=20000)
    assert "unknown ticker 'IBM'" in page.inner_text(ids.css(ids.refused(ids.Forecast.PAGE)))
    assert "AAPL" not in page.inner_text(f"#{ids.Nav.BAR} .navbar-brand")
    wait_js(page, "document.title.includes('unknown ticker')", timeout=5000)


def test_model_card_and_stale_forecast_say_what_they_are(web, page):
    """Was: 'finetune · trained ...'; only a red '(5019 days ago)' hinted the forecast was for 2013."""
    _open_forecast(page, web.url)
    model = page.inner_text(f"#{ids.Forecast.MODEL_CARD}")
    assert "fine-tuned 20" in model and "finetune" not in model and "·" not in model
    assert "stale" in page.inner_text(f"#{ids.Forecast.NEXT_CARD}")  # the fixture's prices end in 2013


def test_download_button_looks_enabled_and_csv_is_in_house_format(web, page):
    """Was: grey on white (looked disabled); 15-17 significant digits and no ticker column."""
    _open_forecast(page, web.url, "?ticker=MSFT")
    bg = page.evaluate(f"getComputedStyle(document.querySelector('#{ids.Forecast.DOWNLOAD_BTN}')).backgroundColor")
    assert bg not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"), bg
    with page.expect_download() as info:
        page.click(f"#{ids.Forecast.DOWNLOAD_BTN}")
    rows = list(csv.DictReader(io.StringIO(info.value.path().read_text())))
    assert rows and {r["ticker"] for r in rows} == {"MSFT"}
    for row in rows:
        for key in ("predicted_close", "lower80", "upper80", "lower95", "upper95", "last_close"):
            assert len(row[key].partition(".")[2]) <= 2, (key, row[key])  # to the cent, as the cards show
    card = page.inner_text(f"#{ids.Forecast.NEXT_CARD}")
    assert f"${float(rows[0]['predicted_close']):,.2f}" in card  # the CSV says what the card says


def test_compare_table_in_house_format_with_the_best_row_marked(web, page):
    """Was: '1' beside '1.001', coverage as fractions with no target, monospace, no best row marked."""
    page.goto(web.url + "/compare?ticker=MSFT")
    page.wait_for_selector(f"#{ids.Compare.TABLE} td", timeout=20000)
    ratios = page.locator(f"#{ids.Compare.TABLE} td[data-dash-column='RMSE / persistence']").all_inner_texts()
    assert ratios and all(len(r.strip().partition(".")[2]) == 4 for r in ratios), ratios  # persistence: 1.0000
    assert "target 80" in page.inner_text(f"#{ids.Compare.TABLE}")
    font = page.evaluate(f"getComputedStyle(document.querySelector('#{ids.Compare.TABLE} td')).fontFamily")
    assert "mono" not in font.lower() and font == page.evaluate("getComputedStyle(document.body).fontFamily")
    weights = page.evaluate(f"Array.from(document.querySelectorAll('#{ids.Compare.TABLE} td[data-dash-column=model]'))"
                            ".map(td => getComputedStyle(td).fontWeight)")
    assert weights.count("700") >= 1  # the lowest-error network stands out
    assert "lowest RMSE ratio among the networks" in page.inner_text(f"#{ids.Compare.BEST}")
    page.click(f"#{ids.Compare.TABLE} th[data-dash-column='RMSE / persistence'] .column-header--sort")
    sorted_ratios = [float(r) for r in page.locator(f"#{ids.Compare.TABLE} td[data-dash-column='RMSE / persistence']").all_inner_texts() if r.strip()]
    assert sorted_ratios == sorted(sorted_ratios)  # numbers sort as numbers


def test_compare_shows_every_band_by_volatility_third_with_its_tests_and_goals(web, page):
    """The bands an analyst uses, judged in calm and in storm, in a real browser."""
    page.goto(web.url + "/compare")
    page.wait_for_selector(f"#{ids.Compare.TERCILES} td", timeout=20000)
    bands = page.locator(f"#{ids.Compare.TERCILES} td[data-dash-column=band]").all_inner_texts()
    assert {"GRU", "GARCH(1,1)-t band", "Conformal band (persistence)", "Random-walk band"} <= set(bands)
    calm = page.locator(f"#{ids.Compare.TERCILES} td[data-dash-column='calm third: % inside, h=1..H']").all_inner_texts()
    assert all(len(c.split(" / ")) == 5 for c in calm)
    assert "after Holm" in page.inner_text(f"#{ids.Compare.TESTS}")
    assert page.locator(f"#{ids.Compare.TESTS} td[data-dash-column=band]").count() == len(bands)  # every band, both levels
    met = page.locator(f"#{ids.Compare.GOALS} td[data-dash-column=met]").all_inner_texts()
    assert met and set(met) <= {"yes", "no"}


def test_residual_hovers_carry_their_unit(web, page):
    """Was: hovers showed '-0.205059' with no unit beside 2-decimal prices."""
    page.goto(web.url + "/residuals")
    page.wait_for_selector(f"#{ids.Residuals.TIME} .main-svg", timeout=20000)
    template = page.evaluate(f"document.querySelector('#{ids.Residuals.TIME} .js-plotly-plot').data[0].hovertemplate")
    assert template.endswith("%") and ".2f" in template
    assert "by $0.00" not in page.inner_text(f"#{ids.Residuals.NOTES}")
