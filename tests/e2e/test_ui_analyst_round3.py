"""The analyst pages, third round (issue 22): small samples, the phone's first screen, many tests, loading and 404.

Each test names the defect it guards against; each fails on the behaviour before the fix. The store is the
two-ticker fixture store with a ledger of two origins (one live day scored one day ahead, the GRU's also replayed):
the first day of a new deployment.
"""
from __future__ import annotations

import re
import shutil

import pytest

from scripts.bench_ledger import fill_ledger
from scripts.web_server import WebServer
from store.db import make_engine
from tests.support.browser import open_page, settle, wait_js, web_env
from dashboard import ids

pytestmark = pytest.mark.e2e

PHONE = dict(width=390, height=844)


@pytest.fixture(scope="module")
def web(two_ticker_store, tmp_path_factory):
    """gunicorn on a copy of the two-ticker store whose AAPL ledger holds one scored day."""
    tmp = tmp_path_factory.mktemp("ui-round3")
    shutil.copy(two_ticker_store, tmp / "store.db")
    url = f"sqlite:///{tmp / 'store.db'}"
    engine = make_engine(url)
    fill_ledger(engine, ("AAPL",), days=2)
    engine.dispose()
    with WebServer(web_env(url, tmp), workers=1, log_path=tmp / "gunicorn.log") as server:
        yield server


@pytest.fixture
def page(chromium):
    pg = open_page(chromium)
    yield pg
    pg.context.close()


def _open_track(page, url: str) -> None:
    page.goto(url + "/track-record")
    wait_js(page, f"document.querySelector('#{ids.Track.VERDICT}')?.innerText.length > 0", timeout=30000)
    wait_js(page, f"document.querySelector('#{ids.Track.CUMULATIVE} .js-plotly-plot')?.data?.length > 0",
            timeout=20000)


def test_one_scored_day_is_too_few_to_judge_live_and_replayed(web, page):
    """Was: the replay verdict said "10.4% less accurate ... band held on 100.0% ... direction right on 0.0%"
    over one day, and a 15-row score table repeated the n=1 figures."""
    _open_track(page, web.url)
    verdict = page.inner_text(f"#{ids.Track.VERDICT}")
    assert verdict.count("too few to judge") == 2, verdict  # the live sentence and the replay's
    assert "%" not in verdict and "accurate" not in verdict, verdict
    wait_js(page, f"document.querySelectorAll('#{ids.Track.SCORES} tr:has(td)').length > 0", timeout=10000)
    rows = page.locator(f"#{ids.Track.SCORES} tr:has(td)").all_inner_texts()
    assert 0 < len(rows) <= 10, rows  # one row per kind and horizon scored, not the windows repeating them
    assert all("too few to judge" in r and "%" not in r for r in rows), rows
    assert page.errors == []


def test_cumulative_chart_with_one_day_draws_a_marker_on_a_date_axis(web, page):
    """Was: a line through one x value (nothing drawn) on an axis reading 23:59:59.999 Feb 14 / 00:00:00.0005."""
    _open_track(page, web.url)
    graph = f"#{ids.Track.CUMULATIVE}"
    assert page.locator(f"{graph} .scatterlayer .point").count() >= 1  # the one day is visible
    ticks = page.locator(f"{graph} .xtick text").all_text_contents()
    assert ticks and not any(re.search(r"\d:\d\d|\.\d{3}", t) for t in ticks), ticks  # days, never times
    assert page.evaluate(f"document.querySelector('{graph} .js-plotly-plot')._fullLayout.xaxis.type") == "date"
    assert "too few to judge" in page.inner_text(graph)


def test_band_coverage_of_zero_is_drawn_and_a_small_count_is_no_rate(web, page):
    """Was: a 0% coverage bar drew nothing at all; each bar now carries its count below 20 closes."""
    _open_track(page, web.url)
    labels = page.locator(f"#{ids.Track.COVERAGE} .bartext").all_text_contents()
    assert labels and all(re.fullmatch(r"n=\d+", t) for t in labels), labels
    assert "too few to judge" in page.inner_text(f"#{ids.Track.COVERAGE}")


SHOTS = __import__("pathlib").Path("artifacts/screenshots")


@pytest.fixture
def phone(chromium):
    pg = open_page(chromium, **PHONE, is_mobile=True, has_touch=True)
    yield pg
    pg.context.close()


def _on_first_screen(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]


def test_phone_first_screen_has_the_forecast_its_change_band_and_trust(web, phone):
    """Was: the trust sentence three screens below the forecast; no change from the last close on the card."""
    phone.goto(web.url + "/")
    phone.wait_for_selector(f"#{ids.Forecast.GRAPH} .main-svg", timeout=30000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SHOTS / "forecast-390-first-screen.png"))
    card = phone.inner_text(f"#{ids.Forecast.NEXT_CARD}")
    assert re.search(r"[+-]\$[\d,]+\.\d{2} \([+-]\d+\.\d{2}%\) vs last close", card), card
    assert re.search(r"80%: \$[\d,]+\.\d{2}", card), card
    trust = phone.inner_text(f"#{ids.Forecast.TRUST}")
    assert trust.startswith("Trust: ") and trust.count(". ") == 0, trust  # one sentence
    for part in (ids.Forecast.NEXT_CARD, ids.Forecast.CHANGE, ids.Forecast.TRUST):
        assert _on_first_screen(phone, f"#{part}"), part
    assert phone.errors == []


def test_phone_menu_folds_after_a_navigation(web, phone):
    """Was: the hamburger menu stayed open after every navigation, covering 30% of the new page."""
    phone.goto(web.url + "/")
    phone.wait_for_selector(f"#{ids.Forecast.GRAPH} .main-svg", timeout=30000)
    phone.click(f"#{ids.Nav.BAR} .navbar-toggler")
    phone.wait_for_selector(f"#{ids.Nav.BAR} .navbar-collapse.show", timeout=5000)
    phone.click("#nav-residuals")
    phone.wait_for_url("**/residuals", timeout=10000)
    wait_js(phone, f"!document.querySelector('#{ids.Nav.BAR} .navbar-collapse.show, "
            f"#{ids.Nav.BAR} .navbar-collapse.collapsing')", timeout=5000)
    assert not phone.locator("#nav-compare").is_visible()


def test_compare_shows_each_p_with_its_holm_value_and_each_skill_figure_with_its_interval(web, page):
    """Was: "Pesaran-Timmermann p < 0.05: they do" on a raw p; R2 +0.72% without its interval; MASE 0.608 beside
    persistence's unstated 0.608."""
    page.goto(web.url + "/compare")
    page.wait_for_selector(f"#{ids.Compare.TABLE} td", timeout=30000)
    heads = page.locator(f"#{ids.Compare.TABLE} th").all_inner_texts()
    for column in ("DM p after Holm", "R2 vs 0: 95% interval", "R2 vs mean: 95% interval", "MASE: 95% interval"):
        assert any(column in h for h in heads), (column, heads)
    r2 = page.locator(f"#{ids.Compare.TABLE} td[data-dash-column='R2 vs 0: 95% interval']").all_inner_texts()
    assert r2 and all(re.fullmatch(r"\[[+-]\d+\.\d\d, [+-]\d+\.\d\d\]", c) for c in r2), r2
    assert re.search(r"Repeating the last close scores .* MASE \d\.\d{3}", page.inner_text(f"#{ids.Compare.EXPLAIN}"))
    for table in (ids.Compare.PAIRS, ids.Compare.DIRECTION):
        assert "after Holm" in page.inner_text(f"#{table}"), table
    words = page.inner_text("body")
    assert "p < 0.05: they do" not in words and "Holm-adjusted across the" in words


def test_residuals_sentences_give_the_holm_adjusted_p(web, page):
    page.goto(web.url + "/residuals")
    page.wait_for_selector(f"#{ids.Residuals.NOTES}", timeout=30000)
    wait_js(page, f"document.querySelector('#{ids.Residuals.NOTES}').innerText.includes('Ljung-Box')",
            timeout=20000)
    notes = page.inner_text(f"#{ids.Residuals.NOTES}")
    assert notes.count("after Holm across this page's tests") >= 3, notes  # Ljung-Box, ARCH-LM, Diebold-Mariano


def test_compare_states_a_bootstrap_block_per_horizon_by_a_published_rule(web, page):
    """Was: "mean block 5 days" at every horizon, chosen from h=1 (a data-driven choice at h=4-5 gives 8-12)."""
    page.goto(web.url + "/compare")
    page.wait_for_selector(f"#{ids.Compare.METHOD}", timeout=30000)
    method = page.inner_text(f"#{ids.Compare.METHOD}")
    found = re.search(r"mean block ((?:\d+ / )+\d+) days at h=1\.\.(\d), each chosen for its horizon by the "
                      r"Politis-White rule", method)
    assert found, method
    assert len(found.group(1).split(" / ")) == int(found.group(2))


@pytest.mark.parametrize("address", ["/nope", "/?ticker=IBM", "/track-record?ticker=IBM"])
def test_an_address_with_no_page_answers_404_with_a_plain_message(web, page, address):
    """Was: HTTP 200 with "Refused: unknown ticker" jargon, and Dash's bare "404 - Page not found" heading."""
    response = page.goto(web.url + address)
    assert response is not None and response.status == 404
    wait_js(page, "document.body.innerText.includes('not found') || "
            "document.body.innerText.includes('No such ticker here')", timeout=20000)
    body = page.inner_text("body")
    assert "Refused" not in body
    if address == "/nope":
        assert "Page not found" in body and page.locator(f"#{ids.NotFound.HOME}").get_attribute("href") == "/"
        assert "Not found" not in page.inner_text(f"#{ids.Nav.BAR}")
    else:
        assert "No such ticker here: unknown ticker 'IBM'; configured: AAPL, MSFT" in body


def test_track_record_charts_say_loading_never_an_empty_frame(web, page):
    """Was: empty Plotly frames with axes -1..6 until the cell callback answered."""
    held = []

    def hold(route):  # the cell callback waits; the router's answer (the layout) goes through
        if ids.Track.FAN in (route.request.post_data or ""):
            held.append(route)
        else:
            route.continue_()
    page.route(re.compile(r"_dash-update-component"), hold)
    page.goto(web.url + "/track-record")
    page.wait_for_selector(f"#{ids.Track.CUMULATIVE} .main-svg", timeout=30000)
    page.wait_for_timeout(500)
    for part in (ids.Track.FAN, ids.Track.COVERAGE, ids.Track.CUMULATIVE):
        assert "Loading the chart" in (page.locator(f"#{part}").text_content() or ""), part
        assert page.locator(f"#{part} .xtick text").count() == 0, part  # no axes of an empty frame
    assert held, "the cell callback was not held"
    for route in held:
        route.continue_()
    wait_js(page, f"document.querySelector('#{ids.Track.CUMULATIVE} .js-plotly-plot')?.data?.length > 0",
            timeout=20000)


@pytest.mark.parametrize("path,selector", [("/", ids.Forecast.CELL), ("/residuals", ids.Residuals.CELL)])
def test_the_cell_is_in_the_address_and_a_shared_link_opens_it(web, page, path, selector):
    """Was: the cell choice lived only in the page; a shared link always opened the GRU."""
    page.goto(web.url + path + "?ticker=AAPL&cell=lstm")
    checked = f"#{selector} input:checked"
    page.wait_for_selector(checked, timeout=30000)
    assert page.locator(checked).get_attribute("value") == "lstm"
    page.click(f"#{selector} label:has-text('SimpleRNN')")
    wait_js(page, "location.search.includes('cell=simplernn')", timeout=10000)
    assert "ticker=AAPL" in page.url  # the ticker stays in the address
    page.goto(page.url)  # the shared address opens on the chosen cell
    page.wait_for_selector(checked, timeout=30000)
    assert page.locator(checked).get_attribute("value") == "simplernn"
    assert page.errors == []


def test_an_unknown_cell_in_the_address_is_refused_visibly(web, page):
    response = page.goto(web.url + "/track-record?cell=transformer")
    assert response is not None and response.status == 404
    notice = f"#{ids.cell_refused(ids.Track.PAGE)}"
    page.wait_for_selector(notice, timeout=30000)
    assert "unknown cell type 'transformer'; choose from simplernn, lstm, gru" in page.inner_text(notice)
    assert page.locator(f"#{ids.Track.CUMULATIVE}").count() == 0  # no other cell's figures in its place
    assert all("404" in e for e in page.errors), page.errors  # the address's own answer, nothing else


def test_residuals_define_the_error_one_way_on_an_axis_spanning_the_data(web, page):
    """Was: "actual / predicted - 1" in the notes beside "(actual - predicted) / previous close" on the chart, and a
    split line before the first reported day leaving a quarter of the time axis blank."""
    page.goto(web.url + "/residuals")
    graph = f"#{ids.Residuals.TIME} .js-plotly-plot"
    wait_js(page, f"document.querySelector('{graph}')?.data?.length > 0", timeout=30000)
    words = page.inner_text(f"#{ids.Residuals.NOTES}") + page.inner_text(f"#{ids.Residuals.TIME}")
    assert "(actual - forecast) / previous close" in words, words
    assert not re.search(r"actual ?/ ?predicted|actual - predicted", words), words
    first, last, low, high = page.evaluate(f"""(() => {{ const g = document.querySelector('{graph}');
        const x = g.data[0].x.map(d => Date.parse(d)); const r = g._fullLayout.xaxis.range.map(d => Date.parse(d));
        return [Math.min(...x), Math.max(...x), r[0], r[1]]; }})()""")
    day = 86400e3
    assert abs(low - first) <= day and abs(high - last) <= day, (first, last, low, high)  # the axis is the data's


BOXES_JS = """(sel) => [...document.querySelectorAll(sel + ' .annotation-text, ' + sel + ' .rangeselector .button, '
    + sel + ' .gtitle')].map(e => { const r = e.getBoundingClientRect();
    return [e.textContent, r.left, r.top, r.right, r.bottom]; })"""


def _overlaps(boxes) -> list:
    return [(a[0], b[0]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a[1] < b[3] - 1 and b[1] < a[3] - 1 and a[2] < b[4] - 1 and b[2] < a[4] - 1]


@pytest.mark.parametrize("size", [dict(width=1400, height=900), PHONE])
def test_forecast_region_labels_never_overlap_nor_leave_the_screen(web, chromium, size):
    """Was: "promotion window" over "reported origins" (and "validation" on a phone), the split's label off the
    right of a phone's screen."""
    page = open_page(chromium, **size)
    try:
        page.goto(web.url + "/")
        graph = f"#{ids.Forecast.GRAPH}"
        page.wait_for_selector(f"{graph} .main-svg", timeout=30000)
        for view in ("default", "all", "3y"):
            if view != "default":
                page.click(f"{graph} .rangeselector .button:has-text('{view}')")
                page.wait_for_timeout(600)
            boxes = page.evaluate(BOXES_JS, graph)
            assert any("origins" in b[0] for b in boxes) or view == "default", (view, boxes)
            assert _overlaps(boxes) == [], (view, boxes)
            assert all(0 <= b[1] and b[3] <= size["width"] for b in boxes), (view, boxes)
    finally:
        page.context.close()


TITLES_JS = """() => [...document.querySelectorAll('.js-plotly-plot .gtitle')].map(t => { const r = t.getBoundingClientRect();
    return [t.textContent, r.left, r.right]; })"""


@pytest.mark.parametrize("path,ready", [("/residuals", ids.Residuals.ACF), ("/compare", ids.Compare.LOSS),
                                        ("/track-record", ids.Track.CUMULATIVE)])
def test_phone_chart_titles_are_whole(web, phone, path, ready):
    """Was: "Relative residuals over the reported rolling origins" and Compare's long titles ran off a phone."""
    phone.goto(web.url + path)
    phone.wait_for_selector(f"#{ready} .gtitle", timeout=30000)
    settle(phone)  # the cell callbacks' charts
    titles = phone.evaluate(TITLES_JS)
    assert titles and all(0 <= left and right <= PHONE["width"] for _, left, right in titles), titles


def test_phone_compare_says_its_ratio_and_interval_columns_are_a_swipe_away(web, phone):
    """Was: Compare's ratio and interval columns off-screen on a phone, with nothing saying they were there."""
    phone.goto(web.url + "/compare")
    phone.wait_for_selector(f"#{ids.Compare.TABLE} td", timeout=30000)
    box = f"#{ids.Compare.TABLE} .dash-spreadsheet-container"
    cue = phone.locator(f".scroll-cued:has(#{ids.Compare.TABLE}) .scroll-cue")
    assert cue.is_visible() and "sideways" in cue.inner_text()
    column = phone.locator(f"#{ids.Compare.TABLE} th:has-text('R2 vs 0: 95% interval')").first
    assert column.bounding_box()["x"] > PHONE["width"]  # off to the right at first
    column.scroll_into_view_if_needed()  # what a swipe does: the table's box scrolls, not the page
    assert phone.eval_on_selector(box, "el => el.scrollLeft") > 0
    edge = column.bounding_box()
    assert 0 <= edge["x"] and edge["x"] + edge["width"] <= PHONE["width"] + 1, edge  # reachable by a swipe


@pytest.mark.parametrize("path,ready", [("/compare", ids.Compare.TABLE), ("/track-record", ids.Track.SCORES)])
def test_axe_reports_no_moderate_violation_either(web, page, path, ready):
    """Was (after the critical and serious ones were fixed): heading-order (h1 then h5) and landmark-unique (every
    scrolling table named "table") on Compare and the Track record."""
    from tests.e2e.test_accessibility import AXE
    page.goto(web.url + path)
    page.wait_for_selector(f"#{ready} td", timeout=30000)
    settle(page)
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found = page.evaluate("""async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa',
        'wcag21a', 'wcag21aa', 'best-practice']}})).violations.map(v => v.id + ' (' + v.impact + ')')""")
    assert found == [], found
