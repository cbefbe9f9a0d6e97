"""Dash callbacks over real HTTP (a running gunicorn), the way the browser posts them."""
from __future__ import annotations

import requests

from dashboard import ids
from scripts.dash_client import FORECAST_OUT, PAGE_OUT, callback_body, page_inputs

__all__ = ["FORECAST_OUT", "forecast", "page", "post_callback"]


def post_callback(base: str, output: str, inputs, state=(), headers=None, timeout=30) -> requests.Response:
    return requests.post(f"{base}/_dash-update-component", json=callback_body(output, inputs, state),
                         headers=headers or {}, timeout=timeout)


def page(base: str, path: str, search: str = "", headers=None) -> requests.Response:
    """The page router's answer for ``path``: the page layout, as the browser gets it."""
    return post_callback(base, PAGE_OUT, page_inputs(path, search), headers=headers)


def forecast(base: str, cell: str = "gru", ticker: str | None = None) -> requests.Response:
    return post_callback(base, FORECAST_OUT, [(ids.Forecast.CELL, "value", cell)], [(ids.Forecast.TICKER, "data", ticker)])
