"""The drills' private Redis and PostgreSQL start on another port when theirs was taken between free_port's
check and their own bind (a race between test processes), and never mistake another server for their own."""
from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess

import pytest
import redis
from sqlalchemy import create_engine, text

from tests.support.private_services import PG_BIN, PrivatePostgres, PrivateRedis
from tests.support.services import service_missing

pytestmark = pytest.mark.e2e


@pytest.fixture
def taken_port():
    """A port held by a listening socket of this test: what another test's server looks like."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_a_private_postgres_whose_port_was_taken_starts_on_another(tmp_path, taken_port):
    if not (PG_BIN / "initdb").exists():
        service_missing(f"PostgreSQL server binaries not found in {PG_BIN}")
    pg = PrivatePostgres(tmp_path)
    pg.port = taken_port
    pg.init()
    try:
        with pytest.raises(RuntimeError, match=f"did not start on port {taken_port}: another process holds the port"):
            pg.start()  # a restart keeps its port: it says why it cannot, naming the port
        pg.start(new_port_if_taken=True)
        assert pg.port != taken_port
        engine = create_engine(pg.url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_setting('port')")).scalar() == str(pg.port)
        engine.dispose()
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # not running if the test failed before
            pg.stop("immediate")
        shutil.rmtree(pg.root, ignore_errors=True)


def test_a_private_redis_whose_port_was_taken_starts_on_another(tmp_path, taken_port):
    if shutil.which("redis-server") is None:
        service_missing("redis-server not installed (apt-get install redis-server)")
    r = PrivateRedis(tmp_path)
    r.port = taken_port
    with pytest.raises(RuntimeError, match=f"did not start on port {taken_port}: another process holds the port"):
        r.start()  # the open port alone is not taken for its own server
    try:
        r.start(new_port_if_taken=True)
        assert r.port != taken_port
        assert redis.Redis.from_url(r.url).info("server")["process_id"] == r.proc.pid
    finally:
        r.stop()
