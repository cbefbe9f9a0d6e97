"""The login limit behind Heroku's router (WEB_TRUSTED_PROXIES=1, as app.json sets it), attacked
directly with forged X-Forwarded-For: one client's guesses lock out only its own (user, address);
rotating addresses meets the global budget and writes no row per invented address; the admin
and the analyst still sign in with the right password afterwards from where they signed in
before. An analyst's right credentials on an admin callback are not a failed admin login.
Real gunicorn (2 workers), SQLite and Postgres."""
from __future__ import annotations

import json
from collections import Counter

import pytest
import requests
from sqlalchemy import func, select

from scripts.web_server import WebServer
from store import logins
from store.db import make_engine
from store.tables import LoginFailure
from tests.adversarial.hostile import CALLBACK, promote_body
from tests.support.browser import web_env
from tests.support.dash_client import basic
from tests.support.dashboard_env import ADMIN, ANALYST
from tests.support.store_checks import clear_login_failures

pytestmark = pytest.mark.e2e

LIMIT = logins.LoginLimit()
ADMIN_HOME, ANALYST_HOME, ATTACKER = "203.0.113.10", "203.0.113.20", "198.51.100.7"


@pytest.fixture(scope="module")
def routed(store_url, tmp_path_factory):
    """The web as app.json configures it: one trusted proxy, analyst login on."""
    tmp = tmp_path_factory.mktemp("routed-web")
    env = web_env(store_url, tmp, WEB_TRUSTED_PROXIES="1", ANALYST_USER=ANALYST[0], ANALYST_PASSWORD=ANALYST[1])
    with WebServer(env, workers=2, log_path=tmp / "gunicorn.log") as server:
        yield server


def _get(web, path: str, creds: tuple[str, str], client: str) -> requests.Response:
    """A request as the router forwards it: the client's address appended to X-Forwarded-For."""
    return requests.get(web.url + path, headers={**basic(*creds), "X-Forwarded-For": client}, timeout=10)


def _rows(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(LoginFailure)).scalar_one()
    engine.dispose()
    return count


def test_the_right_password_still_signs_in_after_the_attack(routed, store_url):
    clear_login_failures(store_url)
    # before the attack: the admin and the analyst sign in from their usual addresses
    assert _get(routed, "/admin", ADMIN, ADMIN_HOME).status_code == 200
    assert _get(routed, "/", ANALYST, ANALYST_HOME).status_code == 200
    # one client guesses the admin's password: its own (user, address) is locked, nobody else's
    guesses = [_get(routed, "/admin", (ADMIN[0], f"guess{i}"), ATTACKER).status_code for i in range(12)]
    assert guesses == [401] * LIMIT.max_failures + [429, 429]
    assert _get(routed, "/admin", ADMIN, ATTACKER).status_code == 429  # not even the right one from there
    assert _get(routed, "/admin", ADMIN, "203.0.113.99").status_code == 200  # a new address: per pair
    # then it rotates X-Forwarded-For: 300 guesses from 300 invented addresses
    rotated = Counter(_get(routed, "/admin", (ADMIN[0], f"rot{i}"), f"10.{i // 250}.{i % 250}.1").status_code
                      for i in range(300))
    spent = LIMIT.global_failures - LIMIT.max_failures  # what the budget had left
    assert rotated == {401: spent, 429: 300 - spent}, rotated
    assert _rows(store_url) <= LIMIT.global_failures + 4  # no row per invented address past the budget
    # after the attack: the right password from where each signed in before
    assert _get(routed, "/admin", ADMIN, ADMIN_HOME).status_code == 200
    assert _get(routed, "/", ANALYST, ANALYST_HOME).status_code == 200
    assert _get(routed, "/admin", ADMIN, "203.0.113.99").status_code == 200
    # a wrong password from a known address still counts (its pair limit holds during the attack)
    assert _get(routed, "/admin", (ADMIN[0], "nope"), ADMIN_HOME).status_code == 401
    # and an address nobody signed in from waits for the window, saying why
    r = _get(routed, "/admin", ADMIN, "192.0.2.55")
    assert r.status_code == 429 and "on this site" in r.text
    clear_login_failures(store_url)


def test_an_analysts_right_credentials_on_admin_callbacks_are_not_failed_logins(routed, store_url):
    clear_login_failures(store_url)
    codes = [requests.post(routed.url + CALLBACK, data=json.dumps(promote_body(3)), timeout=10,
                           headers={"Content-Type": "application/json", **basic(*ANALYST),
                                    "X-Forwarded-For": ANALYST_HOME}).status_code
             for _ in range(LIMIT.max_failures + 5)]
    assert codes == [401] * (LIMIT.max_failures + 5)  # never 429: nothing was counted
    assert _rows(store_url) <= 1  # at most the analyst's known row; no failure
    assert "failed admin login: user 'ana'" not in routed.log_path.read_text()
    assert _get(routed, "/", ANALYST, ANALYST_HOME).status_code == 200


@pytest.mark.parametrize("proto, origin, status", [
    ("https", "https://{host}", 200),  # the router terminated TLS: the page's origin is https
    ("https", "http://{host}", 403),
    ("http", "https://{host}", 403),
])
def test_the_origin_scheme_is_the_routers(routed, proto, origin, status):
    from tests.support.dash_client import FORECAST_OUT, callback_body
    from dashboard import ids

    host = routed.url.split("//", 1)[1]
    body = callback_body(FORECAST_OUT, [(ids.Forecast.CELL, "value", "gru")], [(ids.Forecast.TICKER, "data", "AAPL")])
    r = requests.post(routed.url + CALLBACK, data=json.dumps(body), timeout=10,
                      headers={"Content-Type": "application/json", **basic(*ANALYST), "X-Forwarded-For": ANALYST_HOME,
                               "X-Forwarded-Proto": proto, "Origin": origin.format(host=host)})
    assert r.status_code == status, r.text[:200]
