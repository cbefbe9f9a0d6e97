"""Several tickers (TICKERS=AAPL,MSFT): pages follow ``?ticker=``, callbacks follow the page's ticker."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from store.db import create_schema, make_engine, session_factory
from store.prices import insert_prices
from marketdata.sources.offline import OfflineSampleSource
from tests.support.dash_client import basic, call, render_page
from tests.support.dashboard_env import ADMIN, admin_env
from dashboard import ids

NOW = datetime(2026, 11, 27, tzinfo=timezone.utc)


@pytest.fixture
def two_ticker_store(fixture_store_url):
    """The fixture store (AAPL with models) plus MSFT prices from the offline sample, no MSFT model."""
    engine = make_engine(fixture_store_url)
    create_schema(engine)
    with session_factory(engine).begin() as s:
        insert_prices(s, "MSFT", OfflineSampleSource().fetch("MSFT"), "offline-sample", NOW)
    engine.dispose()
    return fixture_store_url


def page_json(client, path, search):
    r = render_page(client, path, search=search)
    assert r.status_code == 200
    return r.get_data(as_text=True)


def test_ticker_query_selects_the_ticker(dash_client, two_ticker_store):
    client = dash_client(two_ticker_store, TICKERS="AAPL,MSFT")
    text = page_json(client, "/", "?ticker=MSFT")
    # MSFT has prices but no model yet: the page says so, for MSFT, and offers both tickers.
    assert '"data": "MSFT"' in text.replace('"data":"MSFT"', '"data": "MSFT"')
    assert "No trained model yet" in text
    assert "forecast-ticker-AAPL" in text and "forecast-ticker-MSFT" in text


def test_unknown_ticker_is_refused_visibly_never_replaced(dash_client, two_ticker_store):
    client = dash_client(two_ticker_store, TICKERS="AAPL,MSFT")
    text = page_json(client, "/", "?ticker=NOPE")
    # the refusal names the ticker and offers the configured ones; no other ticker's data is shown
    assert "No such ticker here: unknown ticker 'NOPE'" in text and "forecast-ticker-MSFT" in text
    assert "AAPL forecast" not in text and ids.Forecast.GRAPH not in text


def test_single_ticker_shows_no_switch(dash_client, fixture_store_url):
    client = dash_client(fixture_store_url)
    assert "forecast-ticker-AAPL" not in render_page(client, "/").get_data(as_text=True)


def test_callbacks_read_the_pages_ticker(dash_client, two_ticker_store):
    client = dash_client(two_ticker_store, TICKERS="AAPL,MSFT")
    out = f"..{ids.Forecast.GRAPH}.figure...{ids.Forecast.ZOOM}.figure...{ids.Forecast.CARDS}.children...{ids.Forecast.RMSE_WORDS}.children.."
    aapl = call(client, out, [(ids.Forecast.CELL, "value", "gru")], [(ids.Forecast.TICKER, "data", "AAPL")])
    assert aapl.status_code == 200 and "RMSE" in aapl.get_data(as_text=True)  # AAPL has a GRU
    # MSFT has no GRU: the callback refuses, visibly, rather than show AAPL's forecast.
    msft = call(client, out, [(ids.Forecast.CELL, "value", "gru")], [(ids.Forecast.TICKER, "data", "MSFT")])
    assert msft.status_code == 200
    assert msft.json["response"] == {ids.Forecast.RMSE_WORDS: {"children": "Refused: unknown cell type 'gru'; choose from ."}}


def test_admin_refuses_an_unknown_ticker(dash_client, two_ticker_store):
    client = dash_client(two_ticker_store, TICKERS="AAPL,MSFT", **admin_env())
    r = call(client, f"..{ids.Admin.REQUEST}.data...{ids.Admin.START_MSG}.children..", [(ids.Admin.START, "n_clicks", 1)],
             [(ids.Admin.ACTION, "value", "finetune"), (ids.Admin.CELLS, "value", []), (ids.Admin.EPOCHS, "value", 2),
              (ids.Admin.TICKER, "value", "TSLA")], headers=basic(*ADMIN))
    assert "unknown ticker" in r.get_data(as_text=True)


@pytest.mark.parametrize("address, status", [
    ("/", 200), ("/?ticker=MSFT", 200), ("/compare?ticker=msft", 200), ("/track-record", 200),
    ("/nope", 404), ("/?ticker=NOPE", 404), ("/residuals?ticker=%3Cscript%3E", 404), ("/compare/extra", 404),
])
def test_an_address_with_no_page_answers_404(dash_client, two_ticker_store, address, status):
    """Was: /nope and ?ticker=NOPE answered 200 (Dash's index page for every path)."""
    client = dash_client(two_ticker_store, TICKERS="AAPL,MSFT")
    r = client.get(address)
    assert r.status_code == status and r.mimetype == "text/html"  # the browser still draws the plain message


def test_the_not_found_page_is_plain_and_not_in_the_navbar(dash_client, two_ticker_store):
    client = dash_client(two_ticker_store, TICKERS="AAPL,MSFT")
    text = render_page(client, "/nope", search="").get_data(as_text=True)
    assert "Page not found" in text and ids.NotFound.HOME in text and "Refused" not in text
    from dashboard.navigation import _pages

    assert "Not found" not in [p["name"] for p in _pages()] and len(_pages()) >= 5  # every real page, no other
