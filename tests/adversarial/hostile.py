"""Hostile requests as an attacker sends them: raw bodies, wrong content types, forged callbacks."""
from __future__ import annotations

import json

import requests

from tests.support.dash_client import ADMIN_POLL_OUT, ADMIN_QUEUE_OUT, basic, callback_body
from tests.support.dashboard_env import ADMIN
from dashboard import ids

CALLBACK = "/_dash-update-component"
PROMOTE_OUT = f"{ids.Admin.CHAMPION_MSG}.children"
START_OUT = f"..{ids.Admin.REQUEST}.data...{ids.Admin.START_MSG}.children.."
CANCEL_OUT = f"{ids.Admin.CANCEL_MSG}.children"


CONFIRM_OUT = f"{ids.Admin.PROMOTE_DONE}.children"


def promote_body(model_id, ticker="AAPL") -> dict:
    """The request that promotes: the confirmation dialog's Promote button (Promote... only asks)."""
    return callback_body(CONFIRM_OUT, [(ids.Admin.PROMOTE_CONFIRM, "n_clicks", 1)],
                         [(ids.Admin.PROMOTE_MODEL, "value", model_id), (ids.Admin.TICKER, "value", ticker)])


def rollback_body(cell, ticker) -> dict:
    return callback_body(PROMOTE_OUT, [(ids.Admin.PROMOTE, "n_clicks", None), (ids.Admin.ROLLBACK, "n_clicks", 1)],
                         [(ids.Admin.PROMOTE_MODEL, "value", None), (ids.Admin.ROLLBACK_CELL, "value", cell),
                          (ids.Admin.TICKER, "value", ticker)], changed=[f"{ids.Admin.ROLLBACK}.n_clicks"])


def start_body(action="retrain", cells=("gru",), epochs=1, ticker="AAPL") -> dict:
    return callback_body(START_OUT, [(ids.Admin.START, "n_clicks", 1)],
                         [(ids.Admin.ACTION, "value", action), (ids.Admin.CELLS, "value", list(cells)),
                          (ids.Admin.EPOCHS, "value", epochs), (ids.Admin.TICKER, "value", ticker)])


def cancel_body(ticker="AAPL") -> dict:
    return callback_body(CANCEL_OUT, [(ids.Admin.CANCEL, "n_clicks", 1)], [(ids.Admin.TICKER, "value", ticker)])


def cancel_queued_body(ticker="AAPL") -> dict:
    """The page's "Cancel the queued request" button."""
    return callback_body(f"{ids.Admin.QUEUED_MSG}.children", [(ids.Admin.CANCEL_QUEUED, "n_clicks", 1)],
                         [(ids.Admin.TICKER, "value", ticker)])


def queue_poll_body(ticker="AAPL") -> dict:
    """The poll that says what a queued request waits behind."""
    return callback_body(ADMIN_QUEUE_OUT, [(ids.Admin.POLL, "n_intervals", 1)],
                         [(ids.Admin.TICKER, "value", ticker), (ids.Admin.QUEUE_SHOWN, "data", None)])


def outcome_body(request_id) -> dict:
    """The poll that reads how the page's run request ended (``request_id``: whatever the client's store holds)."""
    return callback_body(f"{ids.Admin.RUN_RESULT}.children", [(ids.Admin.POLL, "n_intervals", 1)],
                         [(ids.Admin.REQUEST, "data", request_id)])


def poll_body(ticker="AAPL") -> dict:
    return callback_body(ADMIN_POLL_OUT, [(ids.Admin.POLL, "n_intervals", 1)],
                         [(ids.Admin.TICKER, "value", ticker), (ids.Admin.POLL_SHOWN, "data", None)])


def post(base: str, body, headers: dict | None = None, params: dict | None = None) -> requests.Response:
    """A JSON callback as the renderer posts it (admin credentials unless ``headers`` says otherwise)."""
    hdrs = {"Content-Type": "application/json", **(basic(*ADMIN) if headers is None else headers)}
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(base + CALLBACK, data=data, headers=hdrs, params=params, timeout=30)


def response_text(r: requests.Response) -> str:
    assert r.status_code == 200, (r.status_code, r.text[:300])
    return json.dumps(r.json()["response"])
