"""Exactly one clock, with real `python -m jobs clock` processes on real SQLite and Postgres: a second
clock is refused in one line while the first holds the clock lease; a killed clock's lease expires
so a restart works; the admin page names the clock that runs (issue 20, point 10)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from store import lease as leases
from store.db import make_engine
from tests.support.services import ROOT

pytestmark = pytest.mark.e2e

TTL = 15  # LEASE_TTL_SECONDS: renewed every TTL/4; long enough for a slow start on a busy machine


def _admin_poll(client) -> str:
    """The admin page's poll callback (progress, runs, clock, models), as the browser posts it."""
    from tests.support.dash_client import ADMIN_POLL_OUT, basic, call
    from tests.support.dashboard_env import ADMIN
    from dashboard import ids

    a = ids.Admin
    r = call(client, ADMIN_POLL_OUT, [(a.POLL, "n_intervals", 1)], [(a.TICKER, "value", None), (a.POLL_SHOWN, "data", None)],
             headers=basic(*ADMIN))
    assert r.status_code == 200
    return str(r.json["response"][a.CLOCK]["children"])


def _env(url: str, tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    return {**env, "DATABASE_URL": url, "PRICE_SOURCE": "offline", "DATA_DIR": str(tmp_path / "data"),
            "LEASE_TTL_SECONDS": str(TTL)}


def _clock(url: str, tmp_path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "jobs", "clock", "--no-bootstrap"], cwd=ROOT,
                            env=_env(url, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _second_clock(url: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jobs", "clock", "--no-bootstrap"], cwd=ROOT, env=_env(url, tmp_path),
                          capture_output=True, text=True, timeout=90)


def _holder(url: str) -> leases.LeaseInfo | None:
    engine = make_engine(url)
    try:
        return leases.current_lease(engine, leases.CLOCK_LEASE, live=True)
    finally:
        engine.dispose()


def _wait_for_lease(url: str, proc: subprocess.Popen, timeout: float = 90) -> leases.LeaseInfo:
    """Poll until ``proc`` holds the clock lease; the lease."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the clock exited: {proc.communicate()}"
        info = _holder(url)
        if info is not None and f":{proc.pid}:" in info.holder:
            return info
        time.sleep(0.2)
    raise AssertionError("the clock never took the clock lease")


def _stop(proc: subprocess.Popen) -> int:
    """SIGTERM, then wait while reading the clock's pipes (a clock blocked on a full pipe never exits)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the clock did not stop within 120 s of SIGTERM: {out[-1500:]} {err[-1500:]}") from None
    return proc.returncode


def _refused_in_one_line(result: subprocess.CompletedProcess, pid: int) -> None:
    lines = result.stderr.strip().splitlines()
    # stdout: at most the clock's log line that it watches the held lease (a live clock renews it)
    watched = [line for line in result.stdout.splitlines() if "waiting to see whether that clock is alive" not in line]
    assert result.returncode == 2 and len(lines) == 1 and watched == [], (result.stdout, result.stderr)
    assert lines[0].startswith("error: another clock is running (") and f":{pid}:" in lines[0], lines[0]
    assert "run one clock only" in lines[0] and "Traceback" not in result.stderr


def test_a_second_clock_is_refused_while_the_first_runs(engine, database_url, tmp_path, dash_client):
    """Was: a second clock started silently and both fired every job."""
    from tests.support.dashboard_env import admin_env

    first = _clock(database_url, tmp_path)
    try:
        held = _wait_for_lease(database_url, first)
        _refused_in_one_line(_second_clock(database_url, tmp_path), first.pid)
        assert first.poll() is None and _holder(database_url).holder == held.holder  # the first one never noticed
        client = dash_client(database_url, **admin_env())
        page = _admin_poll(client)
        assert f"pid {first.pid}" in page and held.holder in page
        assert f"running since {held.acquired_at:%Y-%m-%d %H:%M:%S} UTC" in page
    finally:
        code = _stop(first)
    assert code == 0 and _holder(database_url) is None  # a clean stop frees the lease at once
    again = _clock(database_url, tmp_path)
    try:
        _wait_for_lease(database_url, again, timeout=30)
    finally:
        assert _stop(again) == 0


def test_a_clock_restarted_at_once_after_kill_9_waits_out_the_dead_lease_and_runs(engine, database_url, tmp_path):
    """kill -9 leaves the lease; a clock started at once (Heroku's crash restart) waits for it to expire,
    since nothing renews it, and then runs (was: refused, which sends the restart into the platform's backoff)."""
    first = _clock(database_url, tmp_path)
    try:
        dead = _wait_for_lease(database_url, first)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        first.communicate()
    restarted = _clock(database_url, tmp_path)
    try:
        taken = _wait_for_lease(database_url, restarted, timeout=TTL + 60)
        assert f":{restarted.pid}:" in taken.holder and taken.holder != dead.holder
        assert restarted.poll() is None  # running, not refused
    finally:
        assert _stop(restarted) == 0


def test_the_admin_page_says_when_no_clock_runs(dash_client, sqlite_url):
    """No live clock lease: the page says so and how to start one."""
    from tests.support.dashboard_env import admin_env

    page = _admin_poll(dash_client(sqlite_url, **admin_env()))
    assert "Clock process: none is running" in page and "python -m jobs clock" in page
