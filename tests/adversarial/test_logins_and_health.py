"""Failed logins are logged and limited per address across both gunicorn workers (the count
is in the store); /healthz says 503 when the store cannot be read, quickly."""
from __future__ import annotations

import time

import pytest
import requests

from store import logins
from scripts.web_server import WebServer
from tests.support.browser import web_env
from tests.support.store_checks import clear_login_failures
from tests.support.dash_client import basic
from tests.support.dashboard_env import ADMIN

pytestmark = pytest.mark.e2e

LIMIT = logins.LoginLimit()


def _failures_in_store(url: str) -> dict:
    from sqlalchemy import select

    from store.db import make_engine
    from store.tables import LoginFailure

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = dict(conn.execute(select(LoginFailure.address, LoginFailure.failures)).all())
    engine.dispose()
    return rows


def test_wrong_passwords_are_logged_then_limited_per_address(web, store_url):
    """Whichever of the two workers answers (a new connection each time), they count on one
    row in the store, so the address gets max_failures tries in all, not per worker."""
    clear_login_failures(store_url)
    statuses = [requests.get(web.url + "/admin", headers=basic("mallory", f"guess-{i}-hunter2"), timeout=10).status_code
                for i in range(LIMIT.max_failures)]
    assert statuses == [401] * LIMIT.max_failures
    assert _failures_in_store(store_url) == {"127.0.0.1": LIMIT.max_failures}
    # the limit is reached: every further try from this address is 429, the right password too
    for headers in (basic("mallory", "guess-x"), basic(*ADMIN)):
        r = requests.get(web.url + "/admin", headers=headers, timeout=10)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) == LIMIT.window_s
    assert requests.get(web.url + "/", timeout=10).status_code == 200  # open pages stay open
    log = web.log_path.read_text()
    assert log.count("failed admin login: user 'mallory' from 127.0.0.1") == LIMIT.max_failures
    assert "hunter2" not in log and "guess-" not in log  # never the password
    clear_login_failures(store_url)
    assert requests.get(web.url + "/admin", headers=basic(*ADMIN), timeout=10).status_code == 200


def test_failed_callback_logins_count_too(web, store_url):
    from tests.adversarial.hostile import post, promote_body

    clear_login_failures(store_url)
    codes = [post(web.url, promote_body(3), headers=basic(ADMIN[0], f"nope{i}")).status_code
             for i in range(LIMIT.max_failures + 2)]
    assert codes == [401] * LIMIT.max_failures + [429, 429]
    clear_login_failures(store_url)


def test_healthz_is_ok_on_a_readable_store(web):
    r = requests.get(web.url + "/healthz", timeout=10)
    assert r.status_code == 200 and r.json() == {"status": "ok"}


@pytest.mark.parametrize("dead_url", [
    "postgresql+psycopg://postgres@127.0.0.1:1/test",  # nothing listens: refused at once
    "postgresql+psycopg://postgres@10.255.255.1:5432/test",  # a black hole: only the timeout ends it
])
def test_healthz_is_503_within_a_few_seconds_when_the_store_cannot_be_read(tmp_path, dead_url):
    with WebServer(web_env(dead_url, tmp_path), workers=1, log_path=tmp_path / "gunicorn.log",
                   expect_healthy=False) as server:
        for _ in range(3):
            t = time.perf_counter()
            r = requests.get(server.url + "/healthz", timeout=30)
            assert r.status_code == 503 and r.json()["status"] == "unavailable"
            assert time.perf_counter() - t < 5
        assert requests.get(server.url + "/healthz", timeout=30).headers["X-Frame-Options"] == "DENY"


def test_the_login_limit_is_bounded_in_the_store(engine):
    """One row per address, and rows of a passed window are purged by the next failure."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import func, select

    from store.tables import LoginFailure

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for i in range(200):
        logins.record_failure(engine, f"10.0.{i // 250}.{i % 250}", t0, LIMIT)
    assert logins.record_failure(engine, "10.0.0.1", t0, LIMIT) == 2
    later = t0 + timedelta(seconds=LIMIT.window_s + 1)
    assert logins.record_failure(engine, "10.9.9.9", later, LIMIT) == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(LoginFailure)).scalar() == 1
