"""Dash callbacks over real HTTP (a running gunicorn), the way the browser posts them."""
from __future__ import annotations

import requests

from tests.support.dash_client import PAGE_OUT, callback_body, page_inputs
from dashboard import ids

FORECAST_OUT = f"..{ids.Forecast.GRAPH}.figure...{ids.Forecast.ZOOM}.figure...{ids.Forecast.CARDS}.children...{ids.Forecast.RMSE_WORDS}.children.."


def post_callback(base: str, output: str, inputs, state=(), headers=None, timeout=30) -> requests.Response:
    return requests.post(f"{base}/_dash-update-component", json=callback_body(output, inputs, state),
                         headers=headers or {}, timeout=timeout)


def page(base: str, path: str, search: str = "", headers=None) -> requests.Response:
    """The page router's answer for ``path``: the page layout, as the browser gets it."""
    return post_callback(base, PAGE_OUT, page_inputs(path, search), headers=headers)


def forecast(base: str, cell: str = "gru", ticker: str | None = None) -> requests.Response:
    return post_callback(base, FORECAST_OUT, [(ids.Forecast.CELL, "value", cell)], [(ids.Forecast.TICKER, "data", ticker)])
