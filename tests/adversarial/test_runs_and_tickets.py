"""A dead run never blocks, per ticker; the page's Start records a run request that starts at
most once, however late or often an executor is handed it, and what the page holds of it (an id)
can only be read, never run. Over real HTTP against gunicorn, on SQLite and on Postgres.
(Was: signed run tickets and a table of spent nonces; both are gone.)"""
from __future__ import annotations

import importlib.util
import json
from datetime import datetime, timedelta, timezone

import pytest

from dashboard import ids
from contract.run import RunRequest
from store import run_requests, runs
from config.settings import load_settings
from store.db import make_engine
from tests.support.store_checks import store_state
from tests.adversarial.hostile import (cancel_body, cancel_queued_body, outcome_body, poll_body, post, response_text,
                                      start_body)
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
        assert ids.Admin.REQUEST in r.json()["response"], r.text[:300]  # a request id: the start was allowed
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


def test_a_request_is_claimed_once_in_the_store(store_url):
    """The claim is what makes a request single-use (was: a spent-ticket row): one conditional UPDATE."""
    engine = make_engine(store_url)
    now = datetime.now(timezone.utc)
    request_id = run_requests.add(engine, RunRequest.build("MSFT", action="retrain", cells=["gru"], epochs=1,
                                                           requested_by=f"ui:{ADMIN[0]}"), now)
    try:
        assert run_requests.claim(engine, request_id, "worker-1", now) is not None
        assert run_requests.claim(engine, request_id, "worker-2", now) is None  # another worker, another process
        assert run_requests.finish(engine, request_id, "worker-1", now, "not run: test over")
    finally:
        engine.dispose()


def test_a_cancelled_or_made_up_request_id_shows_its_state_and_starts_nothing(web, store_url):
    """What the page holds (a request id) is only read: an hour-old id names its request whatever its
    age; one naming a cancelled request says so; a made-up one is refused; nothing reaches the store."""
    engine = make_engine(store_url)
    hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    request_id = run_requests.add(engine, RunRequest.build("MSFT", action="retrain", cells=["gru"], epochs=1,
                                                           requested_by=f"ui:{ADMIN[0]}"), hour_ago)
    try:
        assert response_text(post(web.url, outcome_body(request_id))) == '{"admin-run-result": {"children": null}}'
        assert run_requests.cancel(engine, request_id, "ui:boss", datetime.now(timezone.utc))
        before = store_state(store_url)
        assert f"Not started: run request #{request_id} was cancelled by ui:boss." in response_text(
            post(web.url, outcome_body(request_id)))
        for forged in ("1; drop table runs", True, 1.5, -1, 2**40, {"request_id": request_id}):
            assert "Refused: run request id" in response_text(post(web.url, outcome_body(forged))), forged
        assert f"there is no run request #{request_id + 1000}" in response_text(post(web.url, outcome_body(request_id + 1000)))
        assert store_state(store_url) == before
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_request_handed_to_three_executors_starts_one_run(web, store_url):
    """The issue's replay: the request the page queued handed to three executors at once (a replayed,
    a redelivered and the first message) starts exactly one run; the page then shows its outcome."""
    if "sqlite" not in store_url:
        pytest.skip("one database is enough for a real training run; the claim itself is tested on both")
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("needs TensorFlow to train")
    from concurrent.futures import ThreadPoolExecutor

    from jobs.context import JobContext
    from jobs.requests import NotStarted, execute_request
    from jobs.run import run_pipeline

    before = store_state(store_url)
    request_id = post(web.url, start_body(ticker="AAPL", epochs=1)).json()["response"][ids.Admin.REQUEST]["data"]
    engine = make_engine(store_url)
    ctx = JobContext(settings=load_settings({"DATABASE_URL": store_url, "PRICE_SOURCE": "offline"}), engine=engine)

    def execute(k: int) -> str:
        try:
            return execute_request(ctx, request_id, f"executor-{k}", run=run_pipeline, poll_s=0.1).summary()
        except NotStarted as exc:
            return str(exc)

    try:
        with ThreadPoolExecutor(3) as pool:
            outcomes = sorted(pool.map(execute, range(3)))
    finally:
        engine.dispose()
    ran = [o for o in outcomes if not o.startswith("run request #")]
    assert len(ran) == 1, outcomes
    for replay in outcomes:
        assert replay in ran or "was already claimed" in replay or "was already run" in replay, replay
    assert store_state(store_url)["runs"] == before["runs"] + 1
    assert "Run finished: run #" in response_text(post(web.url, outcome_body(request_id)))
