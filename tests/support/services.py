"""Where the tests find the repository and the services (Postgres, Redis), and what to do when one is absent.

Tests that need a service skip with the reason when it is absent; with REQUIRE_SERVICES=1
(set by .ci/run) a missing service is a failure.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

# the browser of the end-to-end tests, defined beside the web server the benchmarks share with them
from scripts.web_server import CHROMIUM as CHROMIUM, CHROMIUM_ARGS as CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]  # the repository
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


# One database of the test Redis server per module that sends to, consumes from or empties one: under
# xdist two modules run at once, and two Celery workers on one database take each other's tasks (a
# worker then runs a request id against the other test's store and ends it "not run"). A module listed
# here takes its database, emptied, from the `redis_url` fixture (tests/conftest.py).
REDIS_DATABASES = {
    "test_dashboard_browser": 1, "test_drill_queue": 2, "test_admin_health_browser": 3, "test_serve_after_upload": 4,
    "test_admin_serve_request": 5, "test_replay_csv_days": 6, "test_admin_queue": 7, "test_fan_out_wait": 8,
    "test_cli_store_failures": 9,
}


def own_redis_url(module: str) -> str:
    """The test Redis server's database kept for ``module`` (its ``__name__``; listed in REDIS_DATABASES)."""
    return f"{REDIS_URL.rsplit('/', 1)[0]}/{REDIS_DATABASES[module.rsplit('.', 1)[-1]]}"


def emptied_redis(url: str) -> Iterator[str]:
    """For a fixture (``yield from``): the Redis database at ``url``, reachable (else skipped, naming why)
    and emptied before and after; its URL."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except Exception as exc:
        service_missing(f"Redis not reachable at {url}: {type(exc).__name__}")
    client.flushdb()
    yield url
    client.flushdb()


def service_missing(reason: str) -> None:
    """Skip, or fail when CI promised the service would be there."""
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def fresh_postgres(url: str) -> str:
    """Empty the Postgres database at ``url`` (drop and recreate its public schema); the URL."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url
