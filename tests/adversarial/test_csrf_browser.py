"""Cross-site request forgery with a real browser: a page on another port (another origin)
auto-submits forms and fires fetches at the callback endpoint while the admin is logged in
(HTTP Basic credentials cached in the browser context). Nothing may change in the store.

The forged body is a real promote callback: the control at the end sends the very same
body as the admin's own JSON client and sees the champion change, so the forgeries failed
because they were refused, not because the payload was wrong.
"""
from __future__ import annotations

import html
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scripts.web_server import free_port
from tests.support.store_checks import store_state
from tests.adversarial.hostile import CALLBACK, post, promote_body, response_text, rollback_body
from tests.support.dash_client import basic
from tests.support.dashboard_env import ADMIN
from dashboard import ids
from tests.support.browser import wait_js

pytestmark = pytest.mark.e2e

FORGED = promote_body(3)  # AAPL's champion GRU is #4; the attacker wants #3 served


def _pages(target: str) -> dict[str, str]:
    """The attacker's pages: one auto-submitting form per encoding a form can use, and fetches."""
    body = json.dumps(FORGED)
    # text/plain sends "name=value": the JSON is split so that the '=' lands inside a string.
    name, value = body[:-1] + ', "pad": "', '"}'
    form = '<form id="f" method="POST" action="{t}" enctype="{e}">{fields}</form><script>document.getElementById("f").submit()</script>'
    field = '<input type="hidden" name="{n}" value="{v}">'
    fetches = f"""<script>
      const body = {json.dumps(json.dumps(rollback_body("gru", "AAPL")))};
      Promise.allSettled([
        fetch("{target}", {{method: "POST", mode: "no-cors", credentials: "include", body,
                            headers: {{"Content-Type": "text/plain"}}}}),
        fetch("{target}", {{method: "POST", credentials: "include", body,
                            headers: {{"Content-Type": "application/json"}}}}),
      ]).then(r => {{ document.title = "done:" + r.map(x => x.status).join(","); }});
    </script>"""
    return {
        "/text": form.format(t=target, e="text/plain", fields=field.format(n=html.escape(name), v=html.escape(value))),
        "/urlencoded": form.format(t=target, e="application/x-www-form-urlencoded",
                                   fields=field.format(n="payload", v=html.escape(body))),
        "/multipart": form.format(t=target, e="multipart/form-data", fields=field.format(n="payload", v=html.escape(body))),
        "/fetch": fetches,
    }


@pytest.fixture
def attacker(web):
    """An HTTP server on another port serving the attacker's pages."""
    pages = _pages(web.url + CALLBACK)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # http.server's name
            page = pages.get(self.path)
            self.send_response(200 if page else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write((page or "").encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_forms_and_fetches_from_another_origin_change_nothing(web, attacker, chromium, store_url):
    before = store_state(store_url)
    ctx = chromium.new_context(http_credentials={"username": ADMIN[0], "password": ADMIN[1]})
    page = ctx.new_page()
    page.goto(web.url + "/admin")  # the admin is logged in: the browser now holds the credentials
    page.wait_for_selector(f"#{ids.Admin.RUNS} > *", timeout=20000)
    for kind in ("text", "urlencoded", "multipart"):
        with page.expect_response(lambda r: r.url.endswith(CALLBACK), timeout=20000) as answer:
            page.goto(f"{attacker}/{kind}")
        # the forged form reached the server and was refused for its content type
        assert answer.value.status == 415, (kind, answer.value.status)
        assert answer.value.request.method == "POST"
    page.goto(f"{attacker}/fetch")
    wait_js(page, "document.title.startsWith('done:')", timeout=20000)
    ctx.close()
    assert store_state(store_url) == before  # champion unchanged, no run, nothing audited

    # Control: the same promote body from the admin's own JSON client (no browser, no Origin) works.
    assert "is now the champion of AAPL gru" in response_text(post(web.url, FORGED))
    assert store_state(store_url)["events"] == before["events"] + 1
    assert "is now the champion of AAPL gru" in response_text(post(web.url, promote_body(4)))  # put #4 back


def test_json_from_a_foreign_origin_is_refused(web, store_url):
    """What a browser adds to a cross-origin request (Origin, or Referer alone) is checked against our host."""
    before = store_state(store_url)
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                    {"Referer": "http://127.0.0.1:1/attack.html"}, {"Origin": web.url.replace("127.0.0.1", "localhost")}):
        r = post(web.url, FORGED, headers={**basic(*ADMIN), **headers})
        assert r.status_code == 403, headers
    assert store_state(store_url) == before
    same = post(web.url, promote_body(None), headers={**basic(*ADMIN), "Origin": web.url, "Referer": web.url + "/admin"})
    assert "Choose a model to promote" in response_text(same)  # the app's own pages still work
