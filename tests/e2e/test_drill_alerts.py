"""Alert drills with real processes: the CLI's nightly, gunicorn (two workers), the clock, a local
webhook receiver. Measured latencies are printed (run with -s to see them).

- Price source down: the nightly fails, the receiver gets exactly one alert within 30 s of the run's
  end, the store and the admin page's Alerts card show it, and the all-clear follows a run that
  does not fail.
- Clock stopped: no alert while it runs; one alert within the configured window after it stops,
  sent by the web (two gunicorn workers watching: still one alert).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from dashboard import ids
from scripts.web_server import WebServer
from store import incidents
from store.db import make_engine
from store.tables import Run
from store.times import as_utc
from tests.support.dash_client import ADMIN_ALERTS_OUT, basic
from tests.support.dashboard_env import ADMIN
from tests.support.http_dash import post_callback
from tests.support.services import ROOT
from tests.support.webhook_receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def receiver():
    """The chat service's incoming webhook, played by a local HTTP server."""
    r = Receiver()
    yield r
    r.close()


def base_env(url: str, tmp_path, receiver: Receiver, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(tmp_path / "data"), "CACHE_DIR": str(tmp_path / "cache"),
           "ALERT_WEBHOOK_URL": receiver.url, "ALERT_APP_URL": "http://forecast.example.com",
           "ADMIN_USER": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1], "ANALYST_USER": "", "ANALYST_PASSWORD": "",
           "REDIS_URL": "", "TF_CPP_MIN_LOG_LEVEL": "3", **extra}
    return env


def nightly(env: dict[str, str], **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jobs", "nightly", "--trigger", "nightly", "--quiet"], cwd=ROOT,
                          env={**env, **extra}, capture_output=True, text=True, timeout=300)


def admin_alerts(base: str) -> str:
    answer = post_callback(base, ADMIN_ALERTS_OUT, [(ids.Admin.POLL, "n_intervals", 1)],
                           [(ids.Admin.ALERTS_SHOWN, "data", None)], headers=basic(*ADMIN))
    assert answer.status_code == 200, answer.text[:300]
    return answer.text


def test_price_source_down_one_alert_then_the_all_clear(fixture_store_url, tmp_path, receiver):
    env = base_env(fixture_store_url, tmp_path, receiver)
    down = {"PRICE_SOURCE": "yahoo", "YAHOO_RETRIES": "1", "YAHOO_TIMEOUT": "2"}  # no network here: Yahoo is down
    first = nightly(env, **down)
    assert first.returncode == 1 and "failed" in first.stdout, first.stdout + first.stderr[-2000:]
    assert receiver.wait_for(1, 30), "no alert within 30 s of the failed nightly"
    engine = make_engine(fixture_store_url)
    with engine.connect() as conn:
        ended = conn.execute(select(Run.id, Run.finished_at).order_by(Run.id.desc())).first()
    latency = receiver.posts[0][0] - as_utc(ended.finished_at).timestamp()
    print(f"\nDRILL price source down: alert {latency:.2f} s after the run's end (run {ended.id})")
    assert 0 <= latency < 30
    alert = receiver.bodies[0]
    assert (alert["kind"], alert["ticker"], alert["run_id"], alert["state"]) == ("run_failed", "AAPL", ended.id, "open")
    assert "price update failed" in alert["text"] and alert["link"] == "http://forecast.example.com/admin"

    again = nightly(env, **down)  # still down the next night: the incident stays open, nothing new is sent
    assert again.returncode == 1
    time.sleep(2)
    assert len(receiver.posts) == 1
    (stored,) = incidents.open_incidents(engine)
    assert stored.sent_open_at is not None and stored.run_id == ended.id

    with WebServer({k: v for k, v in env.items() if k in ("DATABASE_URL", "CACHE_DIR", "ADMIN_USER", "ADMIN_PASSWORD",
                                                          "DATA_DIR", "ALERT_WEBHOOK_URL")}
                   | {"ANALYST_USER": "", "ANALYST_PASSWORD": "", "REDIS_URL": ""},
                   workers=1, log_path=tmp_path / "gunicorn.log") as web:
        shown = admin_alerts(web.url)
        assert "1 open" in shown and "run_failed" in shown and "price update failed" in shown and "sent" in shown

    back = nightly(env, PRICE_SOURCE="offline")  # the source is back: no new day, the run is skipped, not failed
    assert back.returncode == 0, back.stdout + back.stderr[-2000:]
    assert receiver.wait_for(2, 30), "no all-clear"
    assert [b["state"] for b in receiver.bodies] == ["open", "cleared"]
    assert receiver.bodies[1]["text"].startswith("RESOLVED (run_failed) AAPL: run")
    assert incidents.open_incidents(engine) == []
    engine.dispose()


def silent(receiver: Receiver) -> list:
    return [(t, b) for t, b in receiver.posts if b["kind"] == "clock_silent"]


def test_clock_stopped_one_alert_within_the_window(fixture_store_url, tmp_path, receiver):
    # The clock refreshes its heartbeat after every job it runs; its alert checks run every 2 s here.
    env = base_env(fixture_store_url, tmp_path, receiver, PRICE_SOURCE="offline", ALERT_CHECK_SECONDS="2",
                   ALERT_CLOCK_SILENT_MINUTES="1", LEASE_TTL_SECONDS="10")
    web_env = {k: env[k] for k in ("DATABASE_URL", "CACHE_DIR", "ADMIN_USER", "ADMIN_PASSWORD", "DATA_DIR",
                                   "ALERT_WEBHOOK_URL", "ALERT_CHECK_SECONDS", "ALERT_CLOCK_SILENT_MINUTES")}
    web_env |= {"ANALYST_USER": "", "ANALYST_PASSWORD": "", "REDIS_URL": ""}
    clock = subprocess.Popen([sys.executable, "-m", "jobs", "clock", "--no-bootstrap"], cwd=ROOT, env=env,
                             stdout=open(tmp_path / "clock.log", "w"), stderr=subprocess.STDOUT)
    try:
        with WebServer(web_env, workers=2, log_path=tmp_path / "gunicorn.log") as web:
            # longer than the window and three checks past it, with the clock running: nothing to say
            time.sleep(60 + 3 * 2)
            assert clock.poll() is None, (tmp_path / "clock.log").read_text()[-2000:]
            # (the fixture store's newest close is from 2013: the clock's own checks rightly say it is missing)
            assert silent(receiver) == [], receiver.bodies
            clock.send_signal(signal.SIGKILL)  # the clock dies (a crash, an out-of-memory kill)
            stopped = time.time()
            clock.wait(10)
            deadline = stopped + 60 + 30
            while not silent(receiver) and time.time() < deadline:
                time.sleep(0.2)
            assert silent(receiver), "no alert after the clock stopped"
            latency = silent(receiver)[0][0] - stopped
            print(f"\nDRILL clock stopped: alert {latency:.1f} s after the kill (window 60 s, checks every 2 s)")
            assert latency <= 60 + 10
            time.sleep(6)  # two web workers, several checks each: still one alert
            assert len(silent(receiver)) == 1 and silent(receiver)[0][1]["state"] == "open"
            assert "clock_silent" in admin_alerts(web.url)
    finally:
        if clock.poll() is None:
            clock.kill()
            clock.wait(10)
