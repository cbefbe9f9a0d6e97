"""An admin's run waits behind a busy worker and starts when it is free (issue 20, point 5).

The deployment of app.json for real: Postgres, Redis, one Celery worker, gunicorn, and the
admin page in Chromium. A long MSFT retrain keeps the one worker busy; the admin presses
Start for AAPL; the page says the request is queued and behind which run; when the MSFT run
ends the worker claims the request and the AAPL run starts and finishes. Nothing expires
on the way (was: "Not started: run ticket expired; press Start again").
"""
from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import time
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from dashboard import ids
from scripts.web_server import WebServer
from store import lease as leases
from tests.e2e.test_drill_queue import ROOT, jobs, runs, start_worker, wait_for
from tests.support.browser import open_page, wait_js
from tests.support.clock import running_clock
from tests.support.dashboard_env import ADMIN
from tests.support.services import fresh_postgres


pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

SHOTS = ROOT / "artifacts" / "screenshots"
HOLDER, AAPL_LEASE = "cli-host:4242:test", "training:AAPL"
TICKET_TTL_S = 60  # how long the run tickets this queue replaced lived: the request must outwait one


def _requests(engine, ticker: str = "AAPL") -> list:
    """The ticker's run requests (every run is one: the MSFT run that keeps the worker busy too)."""
    with engine.connect() as conn:
        return conn.execute(sa.text("select id, ticker, status, run_id, outcome from run_requests where ticker = :t "
                                    "order by id"), {"t": ticker}).all()


def _age_s(engine) -> float:
    """How long the (one) AAPL request has been queued."""
    with engine.connect() as conn:
        asked = conn.execute(sa.text("select requested_at from run_requests where ticker = 'AAPL'")).scalar_one()
    return (datetime.now(timezone.utc) - asked).total_seconds()


def _lease_taken(engine) -> datetime:
    with engine.connect() as conn:
        taken = conn.execute(sa.text("select acquired_at from leases where name = :n"), {"n": AAPL_LEASE}).scalar_one()
    return taken.astimezone(timezone.utc)


def _times(engine) -> tuple:
    """(AAPL request asked, claimed, last MSFT run finished)."""
    with engine.connect() as conn:
        asked, claimed = conn.execute(sa.text("select requested_at, claimed_at from run_requests "
                                              "where ticker = 'AAPL'")).one()
        done = conn.execute(sa.text("select max(finished_at) from runs where ticker = 'MSFT'")).scalar_one()
    return asked, claimed, done


def _text(page, id_: str) -> str:
    return page.evaluate(f"(document.querySelector('#{id_}') || {{innerText: ''}}).innerText")


def test_a_run_started_behind_a_busy_worker_waits_queued_then_runs(postgres_database, redis_url, chromium, tmp_path):
    """Start behind a busy worker: "queued, behind run #1 (MSFT retrain ...)", then behind run #2, then
    the AAPL run; the request is claimed only once the worker is free, however long that takes."""
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("needs TensorFlow to train")
    url = fresh_postgres(postgres_database)
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "PRICE_SOURCE": "offline",
           "TICKERS": "AAPL,MSFT", "DATA_DIR": str(tmp_path / "data"), "CACHE_DIR": str(tmp_path / "cache"),
           "ADMIN_USER": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1], "ANALYST_USER": "", "ANALYST_PASSWORD": "",
           "LEASE_TTL_SECONDS": "30"}
    assert jobs("init", env=env).returncode == 0
    engine = sa.create_engine(url)
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    try:
        busy = jobs("nightly", "--queue", "--ticker", "MSFT", "--action", "retrain", "--cells", "gru,lstm",
                    "--epochs", "500", env=env)  # to early stopping: 40-90 s here, with the machine's load
        assert busy.returncode == 0 and "queued" in busy.stdout, busy.stderr
        msft = wait_for(lambda: [r for r in runs(engine) if r.ticker == "MSFT" and r.status == "running"], 180,
                        "the worker to be busy with the MSFT retrain", (log,))[0]
        with WebServer(env, workers=2, log_path=tmp_path / "web.log") as web:
            page = open_page(chromium)
            page.goto(web.url + "/admin")
            page.wait_for_selector(f"#{ids.Admin.RUNS_TABLE}", timeout=30000)
            page.check("input[value='retrain']", force=True)
            page.fill(f"#{ids.Admin.EPOCHS}", "1")
            # Another process (a command-line run, say) holds AAPL's training lease until the request has
            # waited longer than a run ticket used to live: first behind the busy worker, then behind the lease.
            leases.acquire(engine, holder=HOLDER, ttl_s=600, name=AAPL_LEASE)
            page.click(f"#{ids.Admin.START}")
            # queued, and behind what: the worker's MSFT run and the lease
            wait_js(page, f"(document.querySelector('#{ids.Admin.QUEUED}') || {{}}).innerText"
                    "?.includes('is queued')", timeout=20000)
            queued = _text(page, ids.Admin.QUEUED)
            # request #1 is the MSFT run's: the command line's --queue records its request too
            assert queued.startswith("AAPL request #2 (retrain, asked by ui:boss at "), queued
            assert f"behind run #{msft.id} (MSFT retrain, started " in queued, queued
            assert f"behind the AAPL training lease held by {HOLDER} since " in queued, queued
            # the Start's answer comes after its hand-over to Redis: the queue's poll may show the request first
            wait_js(page, f"(document.querySelector('#{ids.Admin.START_MSG}') || {{}}).innerText"
                    "?.includes('Queued a')", timeout=20000)
            assert "Queued a retrain of GRU (1 epochs) of AAPL as request #2" in _text(page, ids.Admin.START_MSG)
            page.screenshot(path=str(SHOTS / "admin-queued.png"), full_page=True)
            assert [r.status for r in _requests(engine)] == ["queued"]
            assert [r.ticker for r in runs(engine)] == ["MSFT"]  # the AAPL run has not started: the worker is busy
            # the worker frees and takes the request's message; the request still waits, now only for the lease
            wait_for(lambda: [r for r in runs(engine) if r.status == "succeeded"], 300, "the MSFT run to end", (log,))
            wait_js(page, f"!document.querySelector('#{ids.Admin.QUEUED}').innerText.includes('MSFT')",
                    timeout=20000)
            time.sleep(max(0.0, TICKET_TTL_S + 5 - _age_s(engine)))
            assert [r.status for r in _requests(engine)] == ["queued"]  # nothing expired
            assert _text(page, ids.Admin.QUEUED).endswith(f"is queued, behind the AAPL training lease held by {HOLDER} "
                                                          f"since {_lease_taken(engine):%H:%M} UTC.")
            assert _text(page, ids.Admin.RUN_RESULT) == ""  # no "Not started: run ticket expired; press Start again"
            leases.release(engine, holder=HOLDER, name=AAPL_LEASE)
            # the worker frees: the request is claimed and its run shows its progress, then its outcome
            wait_js(page, f"document.querySelector('#{ids.Admin.PROGRESS_TEXT}').innerText"
                    ".startsWith('AAPL run #')", timeout=300000)
            # the queue line has its own poll callback: it empties on the same tick or the next one
            wait_js(page, f"document.querySelector('#{ids.Admin.QUEUED}').innerText === ''", timeout=20000)
            page.wait_for_selector(f"#{ids.Admin.RUN_OUTCOME}", timeout=300000)
            outcome = _text(page, ids.Admin.RUN_OUTCOME)
            assert outcome.startswith("Run finished: run #2 succeeded"), outcome
            assert page.errors == []
            page.context.close()
        assert [(r.ticker, r.status) for r in runs(engine)] == [("MSFT", "succeeded"), ("AAPL", "succeeded")]
        assert [(r.status, r.run_id) for r in _requests(engine, "MSFT")] == [("ended", 1)]
        (request,) = _requests(engine)
        assert (request.status, request.run_id) == ("ended", 2) and "succeeded" in request.outcome
        asked, claimed, msft_done = _times(engine)
        assert asked < msft_done < claimed  # it waited for the worker, then for the lease
        assert (claimed - asked).total_seconds() > TICKET_TTL_S
        print(f"the AAPL request waited {(msft_done - asked).total_seconds():.0f} s for the worker and "
              f"{(claimed - asked).total_seconds():.0f} s in all before it was claimed")
        assert "ticket expired" not in log.read_text()
    finally:
        leases.release(engine, holder=HOLDER, name=AAPL_LEASE)
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        engine.dispose()



def test_embedded_default_queues_behind_a_held_lease_cancels_and_runs(chromium, tmp_path):
    """Without REDIS_URL (the clock's child is the executor, as Procfile.local runs web and clock): the
    same stored request, queued while another process holds the ticker's training lease; cancelled
    from the page it never starts; queued again, it runs once the lease is released."""
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("needs TensorFlow to train")
    from store.db import make_engine
    from tests.support.browser import web_env

    url = f"sqlite:///{tmp_path / 'store.db'}"
    env = web_env(url, tmp_path)
    assert jobs("init", env={**os.environ, **env}).returncode == 0  # prices, no models yet
    engine = make_engine(url)
    name, holder = leases.training_lease("AAPL"), "cli-host:4242:test"
    leases.acquire(engine, holder=holder, ttl_s=600, name=name)
    try:
        with running_clock(env, tmp_path / "clock.log"), WebServer(env, workers=1, log_path=tmp_path / "web.log") as web:
            page = open_page(chromium)
            page.goto(web.url + "/admin")
            page.wait_for_selector(f"#{ids.Admin.RUNS_TABLE}", timeout=30000)
            page.check("input[value='retrain']", force=True)
            page.fill(f"#{ids.Admin.EPOCHS}", "1")
            for attempt in ("cancel", "run"):
                page.wait_for_selector(f"#{ids.Admin.START}:not([disabled])", timeout=30000)
                page.click(f"#{ids.Admin.START}")
                wait_js(page, f"(document.querySelector('#{ids.Admin.QUEUED}') || {{}}).innerText"
                        "?.includes('is queued')", timeout=20000)
                assert f"behind the AAPL training lease held by {holder} since " in _text(page, ids.Admin.QUEUED)
                if attempt == "cancel":
                    page.wait_for_selector(f"#{ids.Admin.CANCEL_QUEUED}:not([disabled])", timeout=10000)
                    page.click(f"#{ids.Admin.CANCEL_QUEUED}")
                    wait_js(page, f"(document.querySelector('#{ids.Admin.RUN_OUTCOME}') || {{}}).innerText"
                            "?.includes('was cancelled by ui:boss')", timeout=20000)
                    assert "Cancelled AAPL request #1: it will not start." in _text(page, ids.Admin.QUEUED_MSG)
                else:
                    leases.release(engine, holder=holder, name=name)
                    wait_js(page, f"(document.querySelector('#{ids.Admin.RUN_OUTCOME}') || {{}}).innerText"
                            "?.startsWith('Run finished')", timeout=300000)
            outcome = _text(page, ids.Admin.RUN_OUTCOME)
            assert " succeeded " in outcome, outcome
            assert page.errors == []
            page.context.close()
        assert [(r.id, r.status) for r in _requests(engine)] == [(1, "cancelled"), (2, "ended")]
        assert [r.ticker for r in runs(engine)] == ["AAPL"]  # the cancelled request never ran
    finally:
        leases.release(engine, holder=holder, name=name)
        engine.dispose()
