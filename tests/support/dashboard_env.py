"""Fixtures for dashboard tests: a fixture store built once, and the app pointed at a given store.

Registered for every test through ``pytest_plugins`` in tests/conftest.py.
"""
from __future__ import annotations

import shutil

import pytest

from store.db import make_engine

DASH_ENV_KEYS = ("DATABASE_URL", "CACHE_DIR", "ADMIN_USER", "ADMIN_PASSWORD", "ANALYST_USER", "ANALYST_PASSWORD",
                 "REDIS_URL", "TICKERS")
ADMIN = ("boss", "s3cret-admin")
ANALYST = ("ana", "s3cret-analyst")


@pytest.fixture(scope="session")
def fixture_store_file(tmp_path_factory):
    """A SQLite file with offline AAPL prices and stand-in models for all three cells (built once)."""
    from scripts.fixture_store import write_fixture_models

    path = tmp_path_factory.mktemp("fixture-store") / "store.db"
    engine = make_engine(f"sqlite:///{path}")
    write_fixture_models(engine)
    engine.dispose()
    return path


@pytest.fixture
def fixture_store_url(fixture_store_file, tmp_path) -> str:
    """URL of a private copy of the fixture store (tests may write to it)."""
    dst = tmp_path / "fixture.db"
    shutil.copy(fixture_store_file, dst)
    return f"sqlite:///{dst}"


@pytest.fixture
def dash_client(monkeypatch, tmp_path):
    """Point the dashboard at a store with given settings; returns (Flask test client)."""
    from config.settings import PROCESS_GROUPS, load_settings
    from dashboard import data
    from dashboard.app import create_app

    def configure(database_url: str, **env: str):
        for key in DASH_ENV_KEYS:
            monkeypatch.delenv(key, raising=False)
        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.setenv("CACHE_DIR", str(tmp_path / "cache"))
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return create_app(load_settings(uses=PROCESS_GROUPS["web"])).server.test_client()

    yield configure
    data.current().close()


def admin_env() -> dict:
    return {"ADMIN_USER": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1]}
