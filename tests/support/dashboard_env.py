"""Fixtures for dashboard tests: a fixture store built once, and the app pointed at a given store.

Registered for every test through ``pytest_plugins`` in tests/conftest.py.
"""
from __future__ import annotations

import fcntl
import os
import shutil
from datetime import datetime
from typing import Callable

import pytest

from store.db import make_engine

DASH_ENV_KEYS = ("DATABASE_URL", "CACHE_DIR", "ADMIN_USER", "ADMIN_PASSWORD", "ANALYST_USER", "ANALYST_PASSWORD",
                 "REDIS_URL", "TICKERS")
ADMIN = ("boss", "s3cret-admin")
ANALYST = ("ana", "s3cret-analyst")


def _run_folder(tmp_path_factory):
    """This test run's temporary folder, shared by its xdist processes (each has its own below it)."""
    shared = tmp_path_factory.getbasetemp()
    return shared.parent if os.environ.get("PYTEST_XDIST_WORKER") else shared


@pytest.fixture(scope="session", autouse=True)
def _fixture_scores_shared(tmp_path_factory):
    """The stand-in models' scoring (scripts.fixture_store) is computed once a run, not once per test process."""
    folder = _run_folder(tmp_path_factory) / "fixture-scores"
    folder.mkdir(exist_ok=True)
    os.environ["FIXTURE_SCORES_DIR"] = str(folder)
    yield
    os.environ.pop("FIXTURE_SCORES_DIR", None)


@pytest.fixture(scope="session")
def fixture_store_file(tmp_path_factory):
    """A SQLite file with offline AAPL prices and stand-in models for all three cells, built once a run.

    Building it takes about 10 s of CPU. Under xdist every test process used to build its own; now the
    first one builds it in the run's shared temporary folder, under a file lock, and the others wait
    and read it (pytest-xdist's documented pattern). Tests only read it: ``fixture_store_url`` copies it."""
    from scripts.fixture_store import write_fixture_models

    shared = _run_folder(tmp_path_factory)
    folder = shared / "fixture-store-shared"
    folder.mkdir(exist_ok=True)
    path, done = folder / "store.db", folder / "built"
    with open(shared / "fixture-store.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if the build fails
        if not done.exists():
            path.unlink(missing_ok=True)  # a build that failed half-way is started again
            engine = make_engine(f"sqlite:///{path}")
            write_fixture_models(engine)
            engine.dispose()
            done.touch()
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

    def configure(database_url: str, now: Callable[[], datetime] | None = None, **env: str):
        """``now``: the app's one clock (dashboard.data.now), the real one unless given."""
        for key in DASH_ENV_KEYS:
            monkeypatch.delenv(key, raising=False)
        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.setenv("CACHE_DIR", str(tmp_path / "cache"))
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = load_settings(uses=PROCESS_GROUPS["web"])
        return (create_app(settings) if now is None else create_app(settings, now)).server.test_client()

    yield configure
    data.current().close()


def admin_env() -> dict:
    return {"ADMIN_USER": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1]}
