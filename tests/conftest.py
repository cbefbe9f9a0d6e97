"""Shared fixtures: a fresh SQLite or Postgres store per test, CLI runner, services.

Tests that need a service (Postgres, Redis, Chromium) skip with the reason when it
is absent; with REQUIRE_SERVICES=1 (set by .ci/run) a missing service is a failure.
Helpers that are not fixtures live in tests/support (paths and services: tests.support.services).
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from store.db import create_schema, make_engine
from tests.support.services import POSTGRES_ADMIN_URL, ROOT, service_missing
from tests.support.services import fresh_postgres as _fresh_postgres

# Shared fixtures live in tests/support; registering them here makes them visible to every test
# without star- or noqa-imports (pytest allows pytest_plugins only in the root conftest).
pytest_plugins = ["tests.support.dashboard_env", "tests.support.browser"]


@pytest.fixture(scope="session")
def postgres_database():
    """A throw-away Postgres database for this test session; its URL."""
    try:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # any connection failure means: no Postgres here
        service_missing(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {type(exc).__name__}")
    name = f"forecast_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """URL of an empty store, once on SQLite and once on the real Postgres."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return _fresh_postgres(request.getfixturevalue("postgres_database"))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """URL of an empty SQLite store (for tests whose point is not the database)."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def engine(database_url):
    """An engine on a fresh store with the schema created."""
    eng = make_engine(database_url)
    create_schema(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def run_cli(tmp_path):
    """Run ``python -m jobs ...`` in a real subprocess against a given store."""

    def run(*args: str, database_url: str, stdin: str | None = None, env: dict | None = None, timeout: int = 600):
        full_env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "PRICE_SOURCE": "offline",
            "DATA_DIR": str(tmp_path / "data"),
            **(env or {}),
        }
        return subprocess.run(
            [sys.executable, "-m", "jobs", *args],
            cwd=ROOT,
            env=full_env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture(scope="session")
def chromium_browser():
    """One headless Debian Chromium (Playwright) for the whole session: Playwright's sync API
    allows one running instance per process, so every browser test shares this one."""
    chromium = "/usr/bin/chromium"
    if not Path(chromium).exists():
        service_missing(f"{chromium} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing("the playwright Python package is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()
