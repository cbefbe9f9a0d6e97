"""Hostile requests as an attacker sends them: raw bodies, wrong content types, forged callbacks."""
from __future__ import annotations

import json
import time

import requests

from tests.support.dash_client import basic, callback_body
from tests.support.dashboard_env import ADMIN

CALLBACK = "/_dash-update-component"
PROMOTE_OUT = "admin-champion-msg.children"
START_OUT = "..admin-ticket.data...admin-start-msg.children.."
CANCEL_OUT = "admin-cancel-msg.children"
POLL_OUT = ("..admin-progress.value...admin-progress.label...admin-progress-text.children...admin-cancel.disabled..."
            "admin-runs.children...admin-clock.children...admin-models.children...admin-promote-model.options..")
FORECAST_OUT = "..forecast-graph.figure...forecast-zoom.figure...forecast-cards.children...forecast-rmse-words.children.."


def promote_body(model_id, ticker="AAPL") -> dict:
    return callback_body(PROMOTE_OUT, [("admin-promote", "n_clicks", 1), ("admin-rollback", "n_clicks", None)],
                         [("admin-promote-model", "value", model_id), ("admin-rollback-cell", "value", None),
                          ("admin-ticker", "value", ticker)], changed=["admin-promote.n_clicks"])


def rollback_body(cell, ticker) -> dict:
    return callback_body(PROMOTE_OUT, [("admin-promote", "n_clicks", None), ("admin-rollback", "n_clicks", 1)],
                         [("admin-promote-model", "value", None), ("admin-rollback-cell", "value", cell),
                          ("admin-ticker", "value", ticker)], changed=["admin-rollback.n_clicks"])


def start_body(action="retrain", cells=("gru",), epochs=1, ticker="AAPL") -> dict:
    return callback_body(START_OUT, [("admin-start", "n_clicks", 1)],
                         [("admin-action", "value", action), ("admin-cells", "value", list(cells)),
                          ("admin-epochs", "value", epochs), ("admin-ticker", "value", ticker)])


def cancel_body(ticker="AAPL") -> dict:
    return callback_body(CANCEL_OUT, [("admin-cancel", "n_clicks", 1)], [("admin-ticker", "value", ticker)])


def poll_body(ticker="AAPL") -> dict:
    return callback_body(POLL_OUT, [("admin-poll", "n_intervals", 1)], [("admin-ticker", "value", ticker)])


def post(base: str, body, headers: dict | None = None, params: dict | None = None) -> requests.Response:
    """A JSON callback as the renderer posts it (admin credentials unless ``headers`` says otherwise)."""
    hdrs = {"Content-Type": "application/json", **(basic(*ADMIN) if headers is None else headers)}
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(base + CALLBACK, data=data, headers=hdrs, params=params, timeout=30)


def response_text(r: requests.Response) -> str:
    assert r.status_code == 200, (r.status_code, r.text[:300])
    return json.dumps(r.json()["response"])


def background(base: str, body: dict, timeout_s: float = 240) -> str:
    """Run a background callback the way the renderer does (start, then poll the signed job
    handle until the result arrives); returns the result as JSON text."""
    first = post(base, body)
    assert first.status_code == 200, first.text[:300]
    handles = first.json()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(0.5)
        r = post(base, body, params={"cacheKey": handles["cacheKey"], "job": handles["job"]})
        if r.status_code == 200 and "response" in r.json():
            return json.dumps(r.json()["response"])
        assert r.status_code in (200, 204), r.text[:300]
    raise AssertionError(f"background callback gave no result in {timeout_s} s")
