"""The admin page's health panel in Chromium, from facts, not flags (issue 21, point 3).

Real processes: gunicorn with REDIS_URL, a Celery worker and the clock (``python -m jobs clock``).
No clock has ever reported and the nightly schedule is paused: the bold line says the clock is
not running (the pause flag never reads as "running"). A clock starts: running, with its host
and pid. It is killed with SIGKILL: "not running (last seen ...)" once its lease expires. A worker
answers the ping while it runs and not after it stopped; the queue lists a waiting request and
a claimed one whose executor is gone (waiting for redelivery), with ticker and age.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import update

from contract.run import RunRequest
from dashboard import ids
from scripts.web_server import WebServer
from store import run_requests
from store.db import make_engine
from store.pause import set_paused
from store.tables import RunRequestRecord
from store.times import utc_now
from tests.e2e.test_drill_queue import ROOT, start_worker
from tests.support.browser import open_page, wait_js, web_env

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

SHOTS = ROOT / "artifacts" / "screenshots"
LEASE_TTL_S = 4  # the killed clock's lease expires this long after its last renewal


@pytest.fixture
def store_url(two_ticker_store, tmp_path) -> str:
    """A private copy of the two-ticker store (prices and champions for AAPL and MSFT: the clock has nothing to bootstrap)."""
    shutil.copy(two_ticker_store, tmp_path / "store.db")
    return f"sqlite:///{tmp_path / 'store.db'}"


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _text(page, id_: str) -> str:
    return page.evaluate(f"(document.querySelector('#{id_}') || {{innerText: ''}}).innerText")


def _wait_text(page, id_: str, starts: str, timeout_s: float) -> str:
    """Wait until the element's text starts with ``starts`` (the panel refreshes every 10 s by itself)."""
    js = f"(document.querySelector('#{id_}') || {{innerText: ''}}).innerText.startsWith({starts!r})"
    try:
        wait_js(page, js, timeout=timeout_s * 1000)
    except Exception:
        pytest.fail(f"#{id_} never started with {starts!r}; it says {_text(page, id_)!r}")
    return _text(page, id_)


def _queue(store_url: str) -> tuple[int, int]:
    """A waiting AAPL request, and an MSFT one claimed 10 minutes ago by a worker that is gone (silent since)."""
    engine = make_engine(store_url)
    now = utc_now()
    set_paused(engine, True, "ui:boss", now - timedelta(hours=1))  # a flag only: it must not read as a clock
    waiting = run_requests.add(engine, RunRequest.build("AAPL", requested_by="ui:boss"), now - timedelta(minutes=3))
    lost = run_requests.add(engine, RunRequest.build("MSFT", requested_by="clock"), now - timedelta(minutes=12))
    run_requests.claim(engine, lost, "celery@gone:1:ab", now - timedelta(minutes=10))
    with engine.begin() as conn:  # its executor's last heartbeat: when it claimed (the worker is gone since)
        conn.execute(update(RunRequestRecord).where(RunRequestRecord.id == lost).values(
            heartbeat_at=now - timedelta(minutes=10)))
    engine.dispose()
    return waiting, lost


def test_the_health_panel_tells_facts(store_url, redis_url, chromium, tmp_path):
    waiting, lost = _queue(store_url)
    env = web_env(store_url, tmp_path, REDIS_URL=redis_url, LEASE_TTL_SECONDS=str(LEASE_TTL_S))
    procs: list[subprocess.Popen] = []
    with WebServer(env, workers=2, log_path=tmp_path / "gunicorn.log") as web:
        page = open_page(chromium)
        try:
            page.goto(web.url + "/admin")
            # Nothing runs: no clock ever reported, though the schedule's pause row exists.
            assert _wait_text(page, ids.Admin.HEALTH_CLOCK, "Clock: ", 30).startswith(
                "Clock: not running (last seen never)")
            assert "PAUSED by ui:boss" in _wait_text(page, ids.Admin.PAUSE_STATE, "Nightly schedule", 30)
            assert _wait_text(page, ids.Admin.HEALTH_WORKERS, "Workers: ", 30) == (
                "Workers: none answered within 1 s; queued runs wait until one starts (Procfile worker:).")
            rows = page.locator(f"#{ids.Admin.HEALTH_QUEUE_TABLE} tbody tr").all_inner_texts()
            assert [r.split("\t")[:4] for r in rows] == [
                [f"#{waiting}", "AAPL", "waiting", "ui:boss"], [f"#{lost}", "MSFT", "executor silent", "clock"]]
            # Written 3 and 10 minutes before the server started; "ago" rounds down, so a page that took
            # over a minute to come up on a loaded machine says one minute more, and no other figure.
            assert re.search(r"\((3|4) minutes ago\)$", rows[0]) and re.search(r"\((10|11) minutes ago\)$", rows[1]), rows
            assert "Executor silent: claimed, but its executor has not reported for over" in _text(page, ids.Admin.HEALTH_QUEUE)
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "admin-health-stopped.png"), full_page=True)

            # A worker and a clock start: the panel says so from their ping and their lease.
            procs.append(start_worker({**os.environ, **env}, tmp_path / "worker.log"))
            clock = subprocess.Popen([sys.executable, "-m", "jobs", "clock"], cwd=ROOT, env={**os.environ, **env},
                                     stdout=open(tmp_path / "clock.log", "wb"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
            procs.append(clock)
            running = _wait_text(page, ids.Admin.HEALTH_CLOCK, "Clock: running on", 90)
            assert f"pid {clock.pid} (heartbeat " in running
            assert _wait_text(page, ids.Admin.HEALTH_WORKERS, "Workers: 1 answered (celery@", 90)
            page.screenshot(path=str(SHOTS / "admin-health-running.png"), full_page=True)

            # The clock is killed: once its lease has expired the line says so, with when it was last seen.
            _stop(clock, signal.SIGKILL)
            stopped = _wait_text(page, ids.Admin.HEALTH_CLOCK, "Clock: not running (last seen 20", 60)
            assert " UTC, " in stopped and "jobs clock" in stopped
            # The worker stops: it no longer answers.
            _stop(procs[0])
            _wait_text(page, ids.Admin.HEALTH_WORKERS, "Workers: none answered", 60)
            assert page.errors == []
        finally:
            page.context.close()
            for proc in procs:
                _stop(proc, signal.SIGKILL)
