"""Celery configuration from REDIS_URL, including Heroku's rediss:// form."""
import socket
import ssl
import threading

import pytest

from config.settings import load_settings
from config.celery_app import make_celery, queue_status, ssl_options


def test_rediss_url_turns_tls_on_without_verification():
    assert ssl_options("rediss://:pw@host:6380/0") == {"ssl_cert_reqs": ssl.CERT_NONE}
    assert ssl_options("redis://host:6379/0") is None


def test_celery_app_is_configured_for_late_acknowledgement():
    app = make_celery(load_settings({"REDIS_URL": "rediss://:pw@example.invalid:6380/0"}))
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.broker_use_ssl == {"ssl_cert_reqs": ssl.CERT_NONE}
    # No result backend: outcomes are in the store, and a sender with one waits on it when Redis is down.
    assert app.conf.result_backend is None and app.conf.task_ignore_result


def test_no_redis_url_is_a_clear_error():
    with pytest.raises(ValueError, match="REDIS_URL is not set"):
        make_celery(load_settings({}))


def test_unreachable_redis_is_reported_not_raised():
    ok, why = queue_status(load_settings({"REDIS_URL": "redis://127.0.0.1:1/0"}), timeout_s=0.5)
    assert not ok and why.startswith("queue unavailable")


def test_a_url_option_redis_py_refuses_is_reported_not_raised():
    ok, why = queue_status(load_settings({"REDIS_URL": "redis://127.0.0.1:1/0?socket_timeout=abc"}), timeout_s=0.5)
    assert (ok, why) == (False, "queue unavailable: Redis did not answer (ValueError)")


def test_a_lost_task_is_looked_for_in_proportion_to_the_visibility_timeout():
    """kombu's default scan (every 10th tick of 10 s) would leave a lost task 100 s past its timeout."""
    short = make_celery(load_settings({"REDIS_URL": "redis://h/0", "CELERY_VISIBILITY_TIMEOUT": "45",
                                       "LEASE_TTL_SECONDS": "8"}))
    assert short.conf.broker_transport_options == {
        "visibility_timeout": 45, "unacked_restore_interval": 4, "unacked_restore_throttle": 1}
    default = make_celery(load_settings({"REDIS_URL": "redis://h/0"}))
    assert default.conf.broker_transport_options["unacked_restore_interval"] == 60  # an hour's timeout


class _StallOnceRedis:
    """A TCP server speaking just enough of Redis's protocol: its first connection never gets an answer (a
    stall), later ones answer PING, redis-py's HELLO (RESP3, its default) and anything else (+OK: CLIENT SETINFO)."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            if self.connections == 1:
                self.held.append(conn)  # read nothing, answer nothing
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    @staticmethod
    def _answer(conn: socket.socket):
        with conn, conn.makefile("rb") as stream:
            while (line := stream.readline()).startswith(b"*"):
                parts = [stream.readline() and stream.readline().rstrip(b"\r\n") for _ in range(int(line[1:]))]
                command = parts[0].upper()
                conn.sendall(b"+PONG\r\n" if command == b"PING" else
                             b"%1\r\n$5\r\nproto\r\n:3\r\n" if command == b"HELLO" else b"+OK\r\n")

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


def test_one_stalled_answer_is_not_reported_as_an_outage():
    server = _StallOnceRedis()
    try:
        ok, why = queue_status(load_settings({"REDIS_URL": f"redis://127.0.0.1:{server.port}/0"}), timeout_s=0.3)
    finally:
        server.close()
    assert (ok, why, server.connections) == (True, "queue available", 2)
