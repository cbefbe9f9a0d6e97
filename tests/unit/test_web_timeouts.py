"""dashboard.timeouts in front of a Flask app: bodies read in full before Flask, oversized ones
refused unread, work limited to a few requests at once (/healthz never waits), the deadline's 503."""
from __future__ import annotations

import threading
import time

import pytest
from flask import Flask, request

from dashboard import security, timeouts
from store import deadline


@pytest.fixture
def app():
    """A Flask app with the web's defences and the deadline middleware (1 slot, 2 s)."""
    server = Flask(__name__)
    security.install(server, allowed_hosts=("localhost",))
    server.wsgi_app = timeouts.Deadline(server.wsgi_app, 2, active=1)  # type: ignore[method-assign]
    server.register_error_handler(deadline.DeadlineExceeded, timeouts.overrun)
    release, entered = threading.Event(), threading.Event()

    def hold():
        entered.set()
        return str(release.wait(5))

    server.add_url_rule("/echo", "echo", lambda: str(len(request.get_data())), methods=["POST"])
    server.add_url_rule("/hold", "hold", hold)
    server.add_url_rule("/healthz", "healthz", lambda: "ok")

    def overrun():
        with deadline.running(0.01):
            time.sleep(0.02)
            deadline.check()
        return "never"

    server.add_url_rule("/overrun", "overrun", overrun)
    server.config["release"], server.config["entered"] = release, entered
    return server


def test_a_body_is_read_before_flask_and_given_whole(app):
    r = app.test_client().post("/echo", data=b"x" * 200_000, content_type="application/json")
    assert r.status_code == 200 and r.get_data(as_text=True) == "200000"


def test_a_body_over_the_limit_is_refused_unread(app):
    r = app.test_client().post("/echo", data=b"x" * (security.MAX_BODY_BYTES + 1), content_type="application/json")
    assert r.status_code == 413


def test_work_waits_for_a_slot_but_healthz_never_does(app):
    client = app.test_client()
    holder = threading.Thread(target=lambda: client.get("/hold"))
    holder.start()
    assert app.config["entered"].wait(10)  # /hold has the only slot (a fixed sleep could lose the race)
    t = time.perf_counter()
    assert app.test_client().get("/healthz").status_code == 200
    assert time.perf_counter() - t < 1
    busy = app.test_client().get("/hold")  # waits its whole 2 s deadline for the slot
    assert busy.status_code == 503 and "did not start within 2 s" in busy.get_data(as_text=True)
    app.config["release"].set()
    holder.join(10)
    assert app.test_client().get("/healthz").status_code == 200


def test_a_request_past_its_deadline_gets_503_with_a_sentence(app):
    r = app.test_client().get("/overrun")
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert "took longer than 0.01 s and was stopped" in r.get_data(as_text=True)


def test_each_worker_finishes_dashs_first_request_set_up_before_serving(monkeypatch, tmp_path):
    """Dash registers the page router and walks its callback map in the first request's hooks, not
    thread-safely; create_server runs them once, so threaded workers never race on them."""
    from dashboard.app import create_server

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("ALLOWED_HOSTS", ".herokuapp.com")  # the warm-up asks for an allowed name
    monkeypatch.setenv("ANALYST_USER", "ana")
    monkeypatch.setenv("ANALYST_PASSWORD", "pw")  # and needs no credentials
    server = create_server()
    dash_app = next(f.__self__ for f in server.before_request_funcs[None] if f.__name__ == "_setup_server")
    assert dash_app._got_first_request == {"pages": True, "setup_server": True}
    assert ".._pages_content.children..._pages_store.data.." in dash_app.callback_map
    assert not (tmp_path / "store.db").exists()  # the warm-up read nothing from the store
