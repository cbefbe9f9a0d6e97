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
from tests.support.browser import open_page, web_env
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
    page.wait_for_function(f"document.querySelector('#{ids.Track.VERDICT}')?.innerText.length > 0", timeout=30000)
    page.wait_for_function(f"document.querySelector('#{ids.Track.CUMULATIVE} .js-plotly-plot')?.data?.length > 0",
                           timeout=20000)


def test_one_scored_day_is_too_few_to_judge_live_and_replayed(web, page):
    """Was: the replay verdict said "10.4% less accurate ... band held on 100.0% ... direction right on 0.0%"
    over one day, and a 15-row score table repeated the n=1 figures."""
    _open_track(page, web.url)
    verdict = page.inner_text(f"#{ids.Track.VERDICT}")
    assert verdict.count("too few to judge") == 2, verdict  # the live sentence and the replay's
    assert "%" not in verdict and "accurate" not in verdict, verdict
    page.wait_for_function(f"document.querySelectorAll('#{ids.Track.SCORES} tr:has(td)').length > 0", timeout=10000)
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
