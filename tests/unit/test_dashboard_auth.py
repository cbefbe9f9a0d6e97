"""Access control: Basic-auth checks, the before_request guard, and what the admin page may start."""
from __future__ import annotations



import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import Authorization

from dashboard import auth, ids
from config.settings import load_settings
from store import run_requests
from store.db import make_engine
from store.tables import Run
from tests.support.dash_client import basic, call, render_page
from tests.support.dashboard_env import ADMIN, ANALYST, admin_env

START = f"..{ids.Admin.REQUEST}.data...{ids.Admin.START_MSG}.children.."
OUTCOME = f"{ids.Admin.RUN_RESULT}.children"
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
    assert checked >= 12  # runs, champions, prices, the run's outcome and the fetch


def test_a_made_up_request_id_starts_nothing(dash_client, fixture_store_url):
    """What the page holds of a run (its request id) is only read: made-up values are refused, none runs."""
    client = dash_client(fixture_store_url, **admin_env())
    for made_up in ({"sig": "00", "request": {}}, "1 or 1=1", 0, 2**40, True):
        r = call(client, OUTCOME, [(ids.Admin.POLL, "n_intervals", 1)], [(ids.Admin.REQUEST, "data", made_up)],
                 headers=basic(*ADMIN))
        assert r.status_code == 200 and "Refused: run request id" in r.get_data(as_text=True), made_up
    assert _runs(fixture_store_url) == 0


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
    # the outcome poll, called directly with a made-up request id: guarded like every admin callback
    r = call(client, OUTCOME, [(ids.Admin.POLL, "n_intervals", 1)], [(ids.Admin.REQUEST, "data", 1)], headers=headers)
    assert r.status_code == status
    assert _runs(fixture_store_url) == 0


def test_admin_start_with_credentials_queues_a_request(dash_client, fixture_store_url):
    client = dash_client(fixture_store_url, **admin_env())
    r = call(client, START, [(ids.Admin.START, "n_clicks", 1)], START_STATE, headers=basic(*ADMIN))
    assert r.status_code == 200
    request_id = r.json["response"][ids.Admin.REQUEST]["data"]
    # the page keeps the id of the run request the callback queued in the store; the request holds what to run
    assert isinstance(request_id, int)
    engine = make_engine(fixture_store_url)
    stored = run_requests.get(engine, request_id)
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


def test_the_fetch_runs_in_the_admins_request_and_never_starts_a_run(dash_client, tmp_path):
    """The admin's Fetch prices runs in the admin's own authenticated request (was: a signed ticket
    redeemed once by a background process); without the admin's credentials it fetches nothing."""
    from store.db import create_schema
    from store.prices import last_stored_date

    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    create_schema(engine)
    client = dash_client(url, PRICE_SOURCE="offline", DATA_DIR=str(tmp_path / "data"), **admin_env())
    fetch = (f"{ids.Admin.FETCH_MSG}.children", [(ids.Admin.FETCH, "n_clicks", 1)], [(ids.Admin.TICKER, "value", "AAPL")])
    assert call(client, *fetch, headers=basic(*ANALYST)).status_code == 401
    assert last_stored_date(engine, "AAPL") is None
    r = call(client, *fetch, headers=basic(*ADMIN))
    assert r.status_code == 200 and "AAPL: " in r.get_data(as_text=True), r.get_data(as_text=True)[:300]
    assert str(last_stored_date(engine, "AAPL")) == "2013-03-01"  # the offline sample, stored
    refused = call(client, f"{ids.Admin.FETCH_MSG}.children", [(ids.Admin.FETCH, "n_clicks", 1)],
                   [(ids.Admin.TICKER, "value", "TSLA")], headers=basic(*ADMIN))
    assert "Refused: unknown ticker" in refused.get_data(as_text=True)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Run)).scalar() == 0  # no run was started
    engine.dispose()
