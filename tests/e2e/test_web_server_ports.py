"""The suite's servers get ports no outgoing connection can take, and a gunicorn that still finds its
port taken starts again on another one (stop 30's CI failed once on "gunicorn exited with 1": a
port from ``bind(0)`` lies in the ephemeral range, where any client connection may be given it
before gunicorn binds it)."""
from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from scripts.web_server import WebServer, _ephemeral_low, free_port
from tests.support.browser import web_env
from tests.support.services import ROOT


def test_free_ports_lie_below_the_ephemeral_range_and_are_free():
    low = _ephemeral_low()
    if low <= 4096:
        pytest.skip(f"no usable ephemeral range on this machine (lowest {low})")
    for _ in range(20):
        port = free_port()
        assert 1024 <= port < low
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # nothing holds it


def test_an_unreadable_port_range_falls_back_to_the_kernels_choice(tmp_path):
    bad = tmp_path / "range"
    bad.write_text("not numbers\n")
    assert _ephemeral_low(str(bad)) == 0 and _ephemeral_low(str(tmp_path / "absent")) == 0


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.e2e
def test_a_taken_port_is_left_for_another(two_ticker_store, tmp_path):
    """Another server holds the port and answers /healthz with 200: a WebServer must neither take that
    answer for its own gunicorn's nor give up, but start again on another port."""
    other = ThreadingHTTPServer(("127.0.0.1", free_port()), _Healthy)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    taken = other.server_address[1]
    server = WebServer(web_env(f"sqlite:///{two_ticker_store}", tmp_path), workers=1, log_path=tmp_path / "web.log")
    server.binds = {"127.0.0.1": taken}  # as if the other had taken it meanwhile
    try:
        with server:
            assert server.port != taken
            assert requests.get(server.url + "/healthz", timeout=10).json()["status"] == "ok"
            log = (tmp_path / "web.log").read_text()
            assert f"Connection in use: ('127.0.0.1', {taken})" in log and f"Listening at: {server.url}" in log
    finally:
        other.shutdown()
        other.server_close()


@pytest.mark.e2e
def test_a_taken_port_of_a_second_address_is_left_for_another(two_ticker_store, tmp_path):
    """A server that also listens on 0.0.0.0 (as a deployment reachable from elsewhere) picks that port too,
    and starts again on other ports when another process holds it (a CI run failed on such a port once)."""
    other = ThreadingHTTPServer(("0.0.0.0", free_port("0.0.0.0")), _Healthy)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    taken = other.server_address[1]
    server = WebServer(web_env(f"sqlite:///{two_ticker_store}", tmp_path), workers=1, log_path=tmp_path / "web.log",
                       also_bind=("0.0.0.0",))
    server.binds = {"127.0.0.1": free_port(), "0.0.0.0": taken}  # as if the other had taken it meanwhile
    try:
        with server:
            assert server.binds["0.0.0.0"] != taken
            assert requests.get(server.url + "/healthz", timeout=10).json()["status"] == "ok"
            log = (tmp_path / "web.log").read_text()
            assert f"Connection in use: ('0.0.0.0', {taken})" in log
            listening = [line for line in log.splitlines() if "Listening at: " in line]  # one line, both addresses
            assert any(f"http://0.0.0.0:{server.binds['0.0.0.0']}" in line for line in listening), listening
    finally:
        other.shutdown()
        other.server_close()


@pytest.mark.e2e
def test_the_procfile_web_leaves_a_taken_port_for_another(two_ticker_store, tmp_path, monkeypatch):
    """``scripts.bench_slow_clients.start_web`` (the Procfile's ``web:`` line, as test_slow_clients starts it)
    does the same: another server's /healthz on its port is not taken for its own gunicorn's."""
    from scripts import bench_slow_clients

    other = ThreadingHTTPServer(("127.0.0.1", free_port()), _Healthy)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    taken = other.server_address[1]
    picks = iter([taken])  # the first pick is the taken port, as if the other had taken it meanwhile
    monkeypatch.setattr(bench_slow_clients, "free_port", lambda: next(picks, None) or free_port())
    try:
        proc, base = bench_slow_clients.start_web(ROOT, web_env(f"sqlite:///{two_ticker_store}", tmp_path),
                                                  tmp_path / "web.log")
        try:
            assert base != f"http://127.0.0.1:{taken}"
            assert requests.get(base + "/healthz", timeout=10).json()["status"] == "ok"
        finally:
            bench_slow_clients.stop_web(proc)
    finally:
        other.shutdown()
        other.server_close()
