"""Failed logins are logged and limited per user and address across both gunicorn workers (the
count is in the store), without locking another user out; /healthz says 503 when the store
cannot be read, quickly, naming nothing of the store."""
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


def test_wrong_passwords_are_logged_then_limited_per_user_and_address(web, store_url):
    """Whichever of the two workers answers (a new connection each time), they count on one
    row in the store, so the pair gets max_failures tries in all, not per worker; another user
    at the same address (the admin behind the same router or office) still signs in."""
    clear_login_failures(store_url)
    statuses = [requests.get(web.url + "/admin", headers=basic("mallory", f"guess-{i}-hunter2"), timeout=10).status_code
                for i in range(LIMIT.max_failures)]
    assert statuses == [401] * LIMIT.max_failures
    assert _failures_in_store(store_url) == {logins.GLOBAL: LIMIT.max_failures,
                                             logins.pair_key("mallory", "127.0.0.1"): LIMIT.max_failures}
    # the limit is reached for mallory at this address: every further try is 429, whatever it sends
    r = requests.get(web.url + "/admin", headers=basic("mallory", "guess-x"), timeout=10)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) == LIMIT.window_s
    # the right password of another user from the same address is not locked out
    assert requests.get(web.url + "/admin", headers=basic(*ADMIN), timeout=10).status_code == 200
    assert requests.get(web.url + "/", timeout=10).status_code == 200  # open pages stay open
    log = web.log_path.read_text()
    assert log.count("failed admin login: user 'mallory' from 127.0.0.1") == LIMIT.max_failures
    assert "hunter2" not in log and "guess-" not in log  # never the password
    clear_login_failures(store_url)


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
            # a short reason, nothing of the store: no host, port, database or role
            reason = r.json()["reason"]
            assert reason in ("the store cannot be read", "the store did not answer within 2 s")
            assert not any(word in r.text for word in ("127.0.0.1", "10.255", "5432", ":1/", "postgres", "test"))
        assert requests.get(server.url + "/healthz", timeout=30).headers["X-Frame-Options"] == "DENY"
    assert "healthz: the store" in (tmp_path / "gunicorn.log").read_text()  # the details go to the log


def test_the_login_limit_is_bounded_in_the_store(engine):
    """Past the global budget no row is written per invented address; rows of a passed window go."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import func, select

    from store.tables import LoginFailure

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for i in range(LIMIT.global_failures + 200):
        logins.record_failure(engine, "admin", f"10.0.{i // 250}.{i % 250}", t0, LIMIT)
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(LoginFailure)).scalar()
    assert rows == LIMIT.global_failures + 1  # one per address up to the budget, and the global count
    assert logins.standing(engine, "admin", "10.9.9.9", t0, LIMIT).refused(LIMIT) == "global"
    later = t0 + timedelta(seconds=LIMIT.window_s + 1)
    assert logins.record_failure(engine, "admin", "10.9.9.9", later, LIMIT) == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(LoginFailure)).scalar() == 2
