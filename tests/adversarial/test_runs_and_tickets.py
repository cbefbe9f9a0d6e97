"""A dead run never blocks, per ticker; a run ticket names a queued run request and starts it
at most once, however late or often it arrives. Over real HTTP against gunicorn, on SQLite and on Postgres."""
from __future__ import annotations

import importlib.util
import json
from datetime import datetime, timedelta, timezone

import pytest
import requests

from dashboard import auth, ids
from dashboard.admin import actions as admin_actions
from contract.run import RunRequest
from store import run_requests, runs, tickets
from config.settings import load_settings
from store.db import make_engine
from tests.support.store_checks import store_state
from tests.adversarial.hostile import (background, cancel_body, cancel_queued_body, poll_body, post, response_text,
                                      start_body)
from tests.support.dash_client import callback_body
from tests.support.dashboard_env import ADMIN

pytestmark = pytest.mark.e2e


def _add_run(url: str, ticker: str, beat_age_s: float) -> int:
    engine = make_engine(url)
    now = datetime.now(timezone.utc)
    run_id = runs.start_run(engine, ticker=ticker, trigger="manual", requested_by="cli", action="retrain",
                            now=now - timedelta(seconds=beat_age_s))
    engine.dispose()
    return run_id


def _finish(url: str, run_id: int) -> None:
    engine = make_engine(url)
    runs.finish_run(engine, run_id, "failed", now=datetime.now(timezone.utc), error="test over")
    engine.dispose()


def _poll(base: str, ticker: str) -> dict:
    return post(base, poll_body(ticker)).json()["response"]


def test_a_dead_run_blocks_nothing_and_shows_as_failed(web, store_url):
    dead = _add_run(store_url, "MSFT", beat_age_s=600)  # SIGTERM'd or killed long ago: no heartbeat since
    for ticker in ("AAPL", "MSFT"):
        view = _poll(web.url, ticker)
        # no live run: AAPL never had one; MSFT's last run is the dead one, shown as stopped and why
        expected = f"Last MSFT run #{dead} failed" if ticker == "MSFT" else "No AAPL run in progress."
        assert view[ids.Admin.PROGRESS_TEXT]["children"].startswith(expected)
        assert view[ids.Admin.CANCEL]["disabled"] is True
        r = post(web.url, start_body(ticker=ticker))
        assert ids.Admin.REQUEST in r.json()["response"], r.text[:300]  # a ticket: the start was allowed
        assert "Cancelled" in response_text(post(web.url, cancel_queued_body(ticker)))  # its request never runs here
    history = json.dumps(_poll(web.url, "AAPL")[ids.Admin.RUNS])
    assert "failed" in history and "process stopped mid-run" in history and '"running"' not in history
    assert "No MSFT run is in progress." in response_text(post(web.url, cancel_body("MSFT")))
    assert store_state(store_url)["cancels"] == 0
    _finish(store_url, dead)


def test_a_live_run_blocks_only_its_own_ticker_and_everything_names_it(web, store_url):
    live = _add_run(store_url, "MSFT", beat_age_s=0)
    try:
        refused = response_text(post(web.url, start_body(ticker="MSFT")))
        assert f"Refused: MSFT run #{live}" in refused
        assert ids.Admin.REQUEST in post(web.url, start_body(ticker="AAPL")).json()["response"]
        assert "Cancelled" in response_text(post(web.url, cancel_queued_body("AAPL")))
        assert _poll(web.url, "AAPL")[ids.Admin.PROGRESS_TEXT]["children"] == "No AAPL run in progress."
        msft = _poll(web.url, "MSFT")
        assert msft[ids.Admin.PROGRESS_TEXT]["children"].startswith(f"MSFT run #{live} (retrain, manual by ")
        assert msft[ids.Admin.CANCEL]["disabled"] is False
        assert "No AAPL run is in progress." in response_text(post(web.url, cancel_body("AAPL")))
        assert store_state(store_url)["cancels"] == 0  # the AAPL cancel touched no MSFT run
        assert f"Asked MSFT run #{live} to stop" in response_text(post(web.url, cancel_body("MSFT")))
        assert store_state(store_url)["cancels"] == 1
        assert "Refused: unknown ticker" in response_text(post(web.url, cancel_body("TSLA")))
    finally:
        _finish(store_url, live)


def test_a_ticket_is_spent_once_in_the_store(store_url):
    engine = make_engine(store_url)
    now = datetime.now(timezone.utc)
    try:
        assert tickets.claim(engine, "n-1", "boss", now) is True
        assert tickets.claim(engine, "n-1", "boss", now) is False  # another worker, another process: same row
        assert tickets.claim(engine, "n-2", "boss", now) is True
    finally:
        engine.dispose()


def test_a_cancelled_or_forged_ticket_is_refused_before_anything_starts(store_url, monkeypatch):
    """An hour-old ticket is no longer refused for its age (it waits as long as its request),
    but one naming a cancelled request starts nothing, and a forged one never reaches the store."""
    settings = load_settings({"DATABASE_URL": store_url, "ADMIN_USER": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1]})
    monkeypatch.setenv("DATABASE_URL", store_url)  # the background process reads its own settings
    engine = make_engine(store_url)
    now = datetime.now(timezone.utc)
    request_id = run_requests.add(engine, RunRequest.build("MSFT", action="retrain", cells=["gru"], epochs=1,
                                                           requested_by=f"ui:{ADMIN[0]}"), now)
    try:
        forged = {**auth.issue_ticket(settings, ADMIN[0], {"request_id": request_id + 1}), "request": {"request_id": request_id}}
        assert admin_actions.execute_run(settings, forged, now)[1].startswith("Not started: run ticket signature is wrong")
        assert run_requests.get(engine, request_id).status == "queued"  # untouched by the forgery
        assert run_requests.cancel(engine, request_id, "ui:boss", now)
        before = store_state(store_url)
        old = auth.issue_ticket(settings, ADMIN[0], {"request_id": request_id}, now=now.timestamp() - 3600)
        assert admin_actions.execute_run(settings, old, now) == (
            "secondary", f"Not started: run request #{request_id} was cancelled by ui:boss.")
        assert store_state(store_url) == before
    finally:
        engine.dispose()


def _background_output(base: str) -> str:
    deps = requests.get(base + "/_dash-dependencies", timeout=10).json()
    return next(d["output"] for d in deps if ids.Admin.RUN_RESULT in d["output"])


@pytest.mark.slow
def test_a_replayed_ticket_starts_one_run(web, store_url):
    """The issue's replay: one signed ticket posted three times to the background callback
    (each post runs in the background process) starts exactly one run."""
    if "sqlite" not in store_url:
        pytest.skip("one database is enough for a real training run; the claim itself is tested on both")
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("needs TensorFlow to train")
    before = store_state(store_url)
    ticket = post(web.url, start_body(ticker="AAPL", epochs=1)).json()["response"][ids.Admin.REQUEST]["data"]
    body = callback_body(_background_output(web.url), [(ids.Admin.REQUEST, "data", ticket)])
    outcomes = [background(web.url, body) for _ in range(3)]
    assert "Run finished: run #" in outcomes[0], outcomes[0]
    for replay in outcomes[1:]:
        assert "was already claimed" in replay or "was already run" in replay, replay
    assert store_state(store_url)["runs"] == before["runs"] + 1
