"""Access control: Basic-auth checks, the before_request guard, and the signed run ticket."""
from __future__ import annotations


from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import Authorization

from dashboard import auth, ids
from dashboard.admin import actions as admin_actions
from config.settings import load_settings
from store import run_requests
from store.db import make_engine
from store.tables import Run
from tests.support.dash_client import basic, call, render_page
from tests.support.dashboard_env import ADMIN, ANALYST, admin_env

START = f"..{ids.Admin.REQUEST}.data...{ids.Admin.START_MSG}.children.."
START_STATE = [(ids.Admin.ACTION, "value", "retrain"), (ids.Admin.CELLS, "value", ["gru"]), (ids.Admin.EPOCHS, "value", 2), (ids.Admin.TICKER, "value", None)]


def _settings(**env):
    return load_settings({"DATABASE_URL": "sqlite://", **env}, uses=("web",))  # auth only: no store is opened


@pytest.mark.parametrize(
    "given, user, password, ok",
    [
        (("boss", "pw"), "boss", "pw", True),
        (("boss", "PW"), "boss", "pw", False),  # wrong password
        (("bos", "pw"), "boss", "pw", False),  # wrong user
        (("", ""), "boss", "pw", False),
        (("boss", "pw"), None, None, False),  # nothing configured: never a default login
        (("boss", ""), "boss", "", False),
        (None, "boss", "pw", False),
    ],
)
def test_credentials_match(given, user, password, ok):
    a = None if given is None else Authorization("basic", {"username": given[0], "password": given[1]})
    assert auth.credentials_match(a, user, password) is ok


def test_settings_have_no_default_admin():
    s = _settings()
    assert not s.admin_enabled and not s.analyst_login_required
    assert _settings(ADMIN_USER="a").admin_enabled is False  # a user without a password is not enough
    assert _settings(ADMIN_USER="a", ADMIN_PASSWORD="b").admin_enabled is True
    assert "hunter2" not in repr(_settings(ADMIN_USER="a", ADMIN_PASSWORD="hunter2"))  # secrets stay out of logs


@pytest.mark.parametrize(
    "body, admin",
    [
        ({"output": f"{ids.Admin.RUN_RESULT}.children", "outputs": {"id": ids.Admin.RUN_RESULT, "property": "children"}}, True),
        ({"output": f"..{ids.Admin.REQUEST}.data...{ids.Admin.START_MSG}.children..", "outputs": []}, True),
        # a pattern-matching id is admin when one of its values names an admin component
        ({"output": "x.children", "outputs": {"id": {"type": ids.Admin.RUNS, "i": 1}, "property": "children"}}, True),
        # the guard knows admin components by ids.ADMIN, not by spelling: a made-up "admin-" id is no
        # admin callback (and, registered by no callback, is refused as malformed: tests/adversarial)
        ({"output": "admin-made-up.children", "outputs": {"id": "admin-made-up", "property": "children"}}, False),
        ({"output": f"{ids.Forecast.GRAPH}.figure", "outputs": {"id": ids.Forecast.GRAPH, "property": "figure"}}, False),
        ({"output": "_pages_content.children", "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/admin"}]}, True),
        ({"output": "_pages_content.children", "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/"}]}, False),
    ],
)
def test_callback_is_admin(body, admin):
    assert auth.callback_is_admin(body) is admin


def test_every_callback_of_the_admin_page_is_an_admin_callback(tmp_path):
    """Each registered callback that touches a component of the admin page is classified admin,
    as the browser would send it (its output string and the ids of its inputs and states)."""
    from dashboard.app import create_app

    app = create_app(_settings(DATABASE_URL=f"sqlite:///{tmp_path / 'store.db'}", CACHE_DIR=str(tmp_path)))
    checked = 0
    for output, spec in app.callback_map.items():
        named = [d["id"] for d in spec["inputs"] + spec["state"]] + [part.split(".")[0] for part in output.strip(".").split("...")]
        if not any(str(i).startswith("admin-") for i in named):
            assert not set(named) & ids.ADMIN, output
            continue
        assert set(i for i in named if str(i).startswith("admin-")) <= ids.ADMIN, output
        body = {"output": output, "inputs": [{"id": d["id"], "property": d["property"]} for d in spec["inputs"]],
                "state": [{"id": d["id"], "property": d["property"]} for d in spec["state"]]}
        assert auth.admin_callback_kind(body) == "action", output
        checked += 1
    assert checked >= 12  # runs, champions, prices, the background run and fetch


def test_ticket_round_trip_and_tampering():
    s = _settings(ADMIN_USER="boss", ADMIN_PASSWORD="pw")
    ticket = auth.issue_ticket(s, "boss", {"action": "finetune", "cells": ["gru"], "epochs": 2}, now=1000.0)
    assert auth.verify_ticket(s, ticket, now=1010.0)["request"]["action"] == "finetune"
    forged = {**ticket, "request": {**ticket["request"], "epochs": 500}}
    with pytest.raises(auth.NotAuthorized, match="signature"):
        auth.verify_ticket(s, forged, now=1010.0)
    with pytest.raises(auth.NotAuthorized, match="expired"):
        auth.verify_ticket(s, ticket, now=1000.0 + auth.TICKET_TTL_S + 1)
    with pytest.raises(auth.NotAuthorized, match="signature"):  # another admin password signs differently
        auth.verify_ticket(_settings(ADMIN_USER="boss", ADMIN_PASSWORD="other"), ticket, now=1010.0)
    with pytest.raises(auth.NotAuthorized, match="disabled"):
        auth.verify_ticket(_settings(), ticket, now=1010.0)
    with pytest.raises(auth.NotAuthorized):
        auth.verify_ticket(s, None)


def test_forged_ticket_starts_nothing(fixture_store_url):
    """The background function itself refuses a forged ticket before importing the pipeline."""
    s = load_settings({"DATABASE_URL": fixture_store_url, "ADMIN_USER": "boss", "ADMIN_PASSWORD": "pw"})
    color, message = admin_actions.execute_run(s, {"actor": "x", "issued": 0, "nonce": "", "request": {}, "sig": "00"},
                                             datetime.now(timezone.utc))
    assert color == "danger" and message.startswith("Not started")


def _runs(url: str) -> int:
    eng = make_engine(url)
    with eng.connect() as conn:
        n = conn.execute(select(func.count()).select_from(Run)).scalar()
    eng.dispose()
    return n


@pytest.mark.parametrize(
    "env, headers, status",
    [
        (admin_env(), {}, 401),  # no credentials: challenged
        (admin_env(), basic("boss", "wrong"), 401),
        (admin_env(), basic(*ANALYST), 401),
        ({}, basic(*ADMIN), 403),  # admin not configured: disabled whatever is sent
    ],
)
def test_unauthenticated_retrain_request_is_refused_and_starts_nothing(dash_client, fixture_store_url, env, headers, status):
    client = dash_client(fixture_store_url, **env)
    r = call(client, START, [(ids.Admin.START, "n_clicks", 1)], START_STATE, headers=headers)
    assert r.status_code == status
    if status == 401:
        assert r.headers["WWW-Authenticate"].startswith("Basic")
    # the background callback itself (its real output string), called directly with a made-up ticket
    background = next(d["output"] for d in client.get("/_dash-dependencies").json if ids.Admin.RUN_RESULT in d["output"])
    r = call(client, background, [(ids.Admin.REQUEST, "data", {"sig": "x", "request": {}})], headers=headers)
    assert r.status_code == status
    assert _runs(fixture_store_url) == 0


def test_admin_start_with_credentials_issues_a_ticket(dash_client, fixture_store_url):
    client = dash_client(fixture_store_url, **admin_env())
    r = call(client, START, [(ids.Admin.START, "n_clicks", 1)], START_STATE, headers=basic(*ADMIN))
    assert r.status_code == 200
    ticket = r.json["response"][ids.Admin.REQUEST]["data"]
    # the ticket names the run request the callback queued in the store; the request holds what to run
    assert set(ticket["request"]) == {"request_id"} and ticket["actor"] == "boss"
    engine = make_engine(fixture_store_url)
    stored = run_requests.get(engine, ticket["request"]["request_id"])
    engine.dispose()
    assert stored is not None and stored.status == "queued" and stored.request.requested_by == "ui:boss"
    assert (stored.ticker, stored.request.action, stored.request.cells, stored.request.epochs) == ("AAPL", "retrain", ("gru",), 2)


def test_admin_page_needs_admin_login(dash_client, fixture_store_url):
    client = dash_client(fixture_store_url, **admin_env())
    assert client.get("/admin").status_code == 401
    assert client.get("/admin", headers=basic(*ADMIN)).status_code == 200
    assert render_page(client, "/admin").status_code == 401  # client-side navigation is guarded too
    assert client.get("/").status_code == 200  # analyst pages stay open


def test_admin_page_says_disabled_without_admin_settings(dash_client, fixture_store_url):
    client = dash_client(fixture_store_url)
    r = render_page(client, "/admin")
    assert r.status_code == 200 and "Admin actions are disabled" in r.get_data(as_text=True)


def test_analyst_login_when_configured(dash_client, fixture_store_url):
    client = dash_client(fixture_store_url, ANALYST_USER=ANALYST[0], ANALYST_PASSWORD=ANALYST[1], **admin_env())
    assert client.get("/").status_code == 401
    assert client.get("/healthz").status_code == 200  # the platform's health check needs no login
    assert client.get("/", headers=basic(*ANALYST)).status_code == 200
    assert client.get("/", headers=basic(*ADMIN)).status_code == 200  # admins may read too
    assert render_page(client, "/", headers=basic("ana", "nope")).status_code == 401


def test_a_fetch_ticket_fetches_once_and_never_starts_a_run(tmp_path):
    """The admin's Fetch prices now runs in the background from a signed ticket, like a run: the
    ticket is spent once, and a run ticket and a fetch ticket cannot stand in for each other."""
    from store.db import create_schema
    from store.prices import last_stored_date

    url = f"sqlite:///{tmp_path / 'store.db'}"
    s = _settings(ADMIN_USER="boss", ADMIN_PASSWORD="pw", DATABASE_URL=url, PRICE_SOURCE="offline",
                  DATA_DIR=str(tmp_path / "data"))
    engine = make_engine(url)
    create_schema(engine)
    now = datetime.now(timezone.utc)
    fetch = auth.issue_ticket(s, "boss", {"kind": admin_actions.FETCH, "ticker": "AAPL"}, now=now.timestamp())
    run = auth.issue_ticket(s, "boss", {"request_id": 1}, now=now.timestamp())

    assert admin_actions.execute_run(s, fetch, now) == ("danger", "Not started: this ticket is not for a run.")
    assert admin_actions.execute_fetch(s, run, now) == ("danger", "Not fetched: this ticket is not for a price fetch.")
    color, message = admin_actions.execute_fetch(s, fetch, now)
    assert color == "success" and message.startswith("AAPL: "), message
    assert str(last_stored_date(engine, "AAPL")) == "2013-03-01"  # the offline sample, stored
    assert admin_actions.execute_fetch(s, fetch, now) == (
        "danger", "Not fetched: this ticket was already used; press Fetch again.")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Run)).scalar() == 0  # no run was started
    engine.dispose()
