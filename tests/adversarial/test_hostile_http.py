"""Hostile requests over real HTTP against gunicorn (2 workers), on SQLite and on Postgres:
oversized and deeply nested bodies, malformed callbacks, forged values in every admin and
analyst input. Each is refused with a status or a visible sentence, never a 500, and the
store is left as it was."""
from __future__ import annotations

import json

import pytest
import requests

from tests.support.store_checks import store_state
from tests.adversarial.hostile import CALLBACK, post, promote_body, response_text, rollback_body, start_body
from tests.support.dash_client import FORECAST_OUT, callback_body, page_inputs, PAGE_OUT
from dashboard import ids

pytestmark = pytest.mark.e2e

HEADERS = {"Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def test_security_headers_on_every_response(web):
    answers = [requests.get(web.url + path, timeout=10) for path in ("/", "/healthz", "/admin", "/_dash-layout", "/x.js")]
    answers.append(post(web.url, b"x" * 10, headers={"Content-Type": "text/plain"}))
    answers.append(post(web.url, promote_body(3), headers={}))
    answers.append(requests.get(web.url + "/_dash-component-suites/nope/nope.js", timeout=10))
    # an unknown page path (/x.js) is a 404 page, as is a missing asset: both still carry the headers
    assert [r.status_code for r in answers] == [200, 200, 401, 200, 404, 415, 401, 404]
    for r in answers:
        assert {k: r.headers.get(k) for k in HEADERS} == HEADERS, r.url


@pytest.mark.parametrize("body, content_type, status", [
    (b"{" + b" " * (2 << 20) + b"}", "application/json", 413),  # 2 MB
    (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),  # deep enough to overflow the parser
    (json.dumps({"output": f"{ids.Forecast.GRAPH}.figure", "deep": json.loads("[" * 40 + "]" * 40)}).encode(), "application/json", 400),
    (b"{not json", "application/json", 400),
    (b"[]", "application/json", 400),
    (json.dumps({"output": "no-such.children", "inputs": []}).encode(), "application/json", 400),
    (json.dumps(callback_body(FORECAST_OUT, [(ids.Forecast.CELL, "value", "gru")])).encode(), "application/json", 400),  # state missing
    (json.dumps({"output": FORECAST_OUT, "inputs": "x"}).encode(), "application/json", 400),
    (json.dumps(callback_body(FORECAST_OUT, [(ids.Forecast.CELL, "value", "gru")], [(ids.Forecast.TICKER, "data", "AAPL")])).encode(),
     "application/json; charset=utf-8", 200),
    (b"{}", "text/plain", 415),
    (b"a=1", "application/x-www-form-urlencoded", 415),
    (b"{}", "application/merge-patch+json", 415),  # is_json in Werkzeug, but not what Dash's renderer sends
])
def test_bodies_that_dash_cannot_run_are_refused_not_500(web, body, content_type, status):
    r = post(web.url, body, headers={"Content-Type": content_type})
    assert r.status_code == status, r.text[:200]


def _analyst(base: str, output: str, cell_id: str, cell, ticker_id: str, ticker) -> str:
    return response_text(post(base, callback_body(output, [(cell_id, "value", cell)], [(ticker_id, "data", ticker)]), headers={}))


@pytest.mark.parametrize("ticker", ["TSLA", "../../etc", "A'; DROP TABLE prices;--", "<script>", "X" * 100_000, 7, ["AAPL"]])
def test_unknown_tickers_are_refused_visibly_in_analyst_callbacks(web, ticker):
    text = _analyst(web.url, FORECAST_OUT, ids.Forecast.CELL, "gru", ids.Forecast.TICKER, ticker)
    assert "Refused: unknown ticker" in text and "configured: AAPL, MSFT" in text
    assert f'"{ids.Forecast.GRAPH}"' not in text and len(text) < 500  # nothing drawn, and the value is not echoed back whole
    resid = f"..{ids.Residuals.TIME}.figure...{ids.Residuals.HIST}.figure...{ids.Residuals.ACF}.figure...{ids.Residuals.QQ}.figure...{ids.Residuals.BIAS}.figure...{ids.Residuals.NOTES}.children.."
    assert "Refused: unknown ticker" in _analyst(web.url, resid, ids.Residuals.CELL, "gru", ids.Residuals.TICKER, ticker)
    assert "Refused: unknown ticker" in _analyst(web.url, f"{ids.Compare.HORIZON}.figure", ids.Compare.MEASURE, "mae", ids.Compare.TICKER, ticker)


@pytest.mark.parametrize("search", ["?ticker=TSLA", "?ticker=..%2F..%2Fetc", "?ticker=%3Cscript%3E"])
def test_unknown_ticker_in_the_url_is_refused_never_replaced(web, search):
    r = post(web.url, callback_body(PAGE_OUT, page_inputs("/", search)), headers={})
    text = response_text(r)
    assert "No such ticker here: unknown ticker" in text and ids.Forecast.GRAPH not in text and "AAPL forecast" not in text


def test_unknown_cell_and_measure_are_refused_visibly(web):
    assert "Refused: unknown cell type" in _analyst(web.url, FORECAST_OUT, ids.Forecast.CELL, {"x": 1}, ids.Forecast.TICKER, "AAPL")
    assert "Refused: unknown measure" in _analyst(web.url, f"{ids.Compare.HORIZON}.figure", ids.Compare.MEASURE, "r" * 5000,
                                                  ids.Compare.TICKER, "AAPL")


@pytest.mark.parametrize("model_id, says", [
    (3.7, "whole number"), ("abc", "whole number"), (10**30, "from 1 to"), (True, "whole number"), (-3, "from 1 to"),
    ("3.0", "whole number"), (999, "no model with id 999"), (5, "is a MSFT model, not AAPL"), ([3], "whole number"),
])
def test_promote_refuses_anything_but_an_existing_model_of_the_ticker(web, store_url, model_id, says):
    before = store_state(store_url)
    text = response_text(post(web.url, promote_body(model_id, "AAPL")))
    assert "Refused" in text and says in text
    assert store_state(store_url) == before


def test_rollback_of_an_unconfigured_ticker_touches_no_champion(web, store_url):
    before = store_state(store_url)
    for ticker, cell in (("TSLA", "gru"), ("", "gru"), ("AAPL", "transformer"), ("AAPL", ["gru"])):
        text = response_text(post(web.url, rollback_body(cell, ticker)))
        assert "Refused" in text, (ticker, cell, text)
    assert store_state(store_url) == before


@pytest.mark.parametrize("epochs, says", [(0, "from 1 to 500, not 0"), (9999, "not 9999"), ("", "blank"), (None, "blank"),
                                          (2.5, "whole number"), ("1e3", "whole number"), (True, "whole number")])
def test_epochs_out_of_range_are_refused_and_no_ticket_is_issued(web, store_url, epochs, says):
    r = post(web.url, start_body(epochs=epochs))
    body = r.json()["response"]
    assert ids.Admin.REQUEST not in body and says in json.dumps(body[ids.Admin.START_MSG])
    r = post(web.url, start_body(cells=["gru", "mamba"]))
    assert "unknown cell type 'mamba'" in response_text(r) and ids.Admin.REQUEST not in r.json()["response"]
    assert store_state(store_url)["runs"] == 0


def test_request_body_limit_applies_to_every_path(web):
    r = requests.post(web.url + "/", data=b"x" * (3 << 20), headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 413
    # Chunked, so no Content-Length to refuse up front: Werkzeug stops reading at the limit and
    # the cut-off body is refused (413 or 400) instead of being parsed whole.
    chunked = requests.post(web.url + CALLBACK, data=iter([b"[" + b"0," * 800_000 + b"0]"]),
                            headers={"Content-Type": "application/json"}, timeout=30)
    assert chunked.status_code in (400, 413)
