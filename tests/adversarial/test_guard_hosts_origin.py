"""The admin guard decides by the registered callback and the routed path, not by names the
client chooses; Host headers outside ALLOWED_HOSTS are refused (DNS rebinding); an Origin
of another scheme is another origin. Real gunicorn (2 workers), SQLite and Postgres."""
from __future__ import annotations

import json

import pytest
import requests

from dashboard import ids
from tests.adversarial.hostile import CALLBACK, post
from tests.support.dash_client import FORECAST_OUT, PAGE_OUT, basic, callback_body, ids_in
from tests.support.dashboard_env import ADMIN
from tests.support.services import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e


def _router(pathname_item: dict, search_item: dict | None = None) -> dict:
    body = callback_body(PAGE_OUT, [])
    body["inputs"] = [pathname_item, search_item or {"id": "_pages_location", "property": "search", "value": ""}]
    body["changedPropIds"] = ["_pages_location.pathname"]
    return body


# Router bodies that Dash renders as the admin page: it hands inputs over by position, so the
# property and id names in the body do not matter to it.
ADMIN_RENDERS = [
    pytest.param({"id": "_pages_location", "property": "pathnamex", "value": "/admin"}, id="pathnamex"),
    pytest.param({"id": "_pages_location", "property": "search", "value": "/admin"}, id="named-search"),
    pytest.param({"id": "elsewhere", "property": "pathname", "value": "/admin"}, id="other-id"),
    pytest.param({"id": "_pages_location", "property": "pathname", "value": "/admin/"}, id="trailing-slash"),
    pytest.param({"id": "_pages_location", "property": "pathname", "value": "//admin//"}, id="slashes"),
]


@pytest.mark.parametrize("item", ADMIN_RENDERS)
def test_the_admin_page_render_needs_admin_whatever_the_body_calls_its_inputs(web, item):
    body = _router(item)
    r = post(web.url, body, headers={})
    assert r.status_code == 401, r.text[:300]  # before the fix, "pathnamex" rendered the admin page to anyone
    # the same body with admin credentials really is the admin page: the refusal above guarded something
    rendered = post(web.url, body)
    assert rendered.status_code == 200
    assert ids.Admin.START in ids_in(rendered.json()["response"])


@pytest.mark.parametrize("value", [None, 7, ["/admin"], {"p": "/admin"}, "admin"])
def test_a_router_pathname_dash_cannot_route_needs_admin(web, value):
    """Not text, or text without its leading slash: the guard does not guess, it asks for admin."""
    r = post(web.url, _router({"id": "_pages_location", "property": "pathname", "value": value}), headers={})
    assert r.status_code == 401


@pytest.mark.parametrize("path", ["/", "/residuals", "/compare", "/ADMIN", "/administer", "/no-such-page"])
def test_other_pages_render_without_credentials(web, path):
    r = post(web.url, _router({"id": "_pages_location", "property": "pathname", "value": path}), headers={})
    assert r.status_code == 200 and ids.Admin.START not in ids_in(r.json()["response"])


def test_an_admin_action_under_analyst_ids_is_still_admin(web):
    """The body names an analyst component, but the output string is the promote callback's."""
    body = callback_body(f"{ids.Admin.PROMOTE_DONE}.children", [(ids.Forecast.CELL, "n_clicks", 1)],
                         [(ids.Forecast.TICKER, "value", 3), (ids.Forecast.CELL, "value", "AAPL")])
    body["outputs"] = {"id": ids.Forecast.CARDS, "property": "children"}
    assert post(web.url, body, headers={}).status_code == 401


def _host_headers(web, host: str) -> dict:
    return {"Host": host, "Origin": f"http://{host}", "Content-Type": "application/json"}


@pytest.mark.parametrize("host", ["evil.test", "evil.test:80", "127.0.0.1.evil.test", "localhost.evil.test",
                                  "[::2]", ""])
def test_a_foreign_host_header_is_refused_on_every_path(web, host):
    """DNS rebinding: a page of evil.test resolved to this address sends Host and Origin evil.test."""
    port = web.url.rsplit(":", 1)[1]
    for method, path in (("GET", "/"), ("GET", "/healthz"), ("GET", "/admin"), ("POST", CALLBACK)):
        hdrs = _host_headers(web, host.replace(":80", f":{port}") if host.endswith(":80") else host)
        r = requests.request(method, web.url + path, headers={**hdrs, **basic(*ADMIN)}, data=b"{}", timeout=10)
        assert r.status_code == 400 and "unknown host" in r.text, (method, path, r.status_code)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]"])
def test_local_names_are_allowed_by_default(web, host):
    port = web.url.rsplit(":", 1)[1]
    r = requests.get(web.url + "/healthz", headers={"Host": f"{host}:{port}"}, timeout=10)
    assert r.status_code == 200


@pytest.mark.parametrize("origin, status", [
    ("https://{host}", 403),  # an https page is another origin than this http app
    ("ws://{host}", 403),
    ("http://{host}", 200),
])
def test_the_origin_scheme_must_match_the_request(web, origin, status):
    host = web.url.split("//", 1)[1]
    body = callback_body(FORECAST_OUT, [(ids.Forecast.CELL, "value", "gru")], [(ids.Forecast.TICKER, "data", "AAPL")])
    r = requests.post(web.url + CALLBACK, data=json.dumps(body), timeout=10,
                      headers={"Content-Type": "application/json", "Origin": origin.format(host=host)})
    assert r.status_code == status, r.text[:200]


@pytest.fixture(scope="module")
def rebinding_browser(chromium_browser):
    """A second Chromium of the session's Playwright whose resolver maps evil.test to 127.0.0.1: what
    a DNS-rebinding attacker's name does once its short TTL has run out."""
    browser = chromium_browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP evil.test 127.0.0.1"])
    yield browser
    browser.close()


def test_a_rebound_name_gets_nothing_in_a_real_browser(web, store_url, rebinding_browser):
    """The admin's browser, credentials cached, opens evil.test (now 127.0.0.1): the page is refused,
    and a same-origin fetch from it to the promote callback changes nothing."""
    from tests.support.store_checks import store_state
    from tests.adversarial.hostile import promote_body

    before = store_state(store_url)
    port = web.url.rsplit(":", 1)[1]
    ctx = rebinding_browser.new_context(http_credentials={"username": ADMIN[0], "password": ADMIN[1]})
    page = ctx.new_page()
    try:
        answer = page.goto(f"http://evil.test:{port}/admin", timeout=30_000)
        assert answer.status == 400 and "unknown host" in page.content()
        status = page.evaluate("""async body => (await fetch("/_dash-update-component", {method: "POST",
            headers: {"Content-Type": "application/json"}, body})).status""", json.dumps(promote_body(3)))
        assert status == 400
        # the control: the same browser on the app's own name gets the dashboard
        assert page.goto(f"http://127.0.0.1:{port}/", timeout=30_000).status == 200
    finally:
        ctx.close()
    assert store_state(store_url) == before
