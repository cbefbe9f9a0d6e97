"""A real gunicorn (2 workers) on a store with AAPL and MSFT models, once on SQLite and
once on the machine's Postgres, with admin login configured; and headless Chromium.

Model ids in the store: AAPL simplernn #1, lstm #2, gru #3 (v1) and #4 (v2, champion);
MSFT gru #5 (v1) and #6 (v2, champion).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scripts.web_server import WebServer
from store.db import make_engine
from tests.support.browser import web_env
from tests.support.services import fresh_postgres


def _write_store(url: str) -> None:
    from scripts.fixture_store import write_fixture_models

    engine = make_engine(url)
    write_fixture_models(engine, "AAPL")
    write_fixture_models(engine, "MSFT", cells=("gru",))
    engine.dispose()


@pytest.fixture(scope="session")
def two_ticker_sqlite_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("adversarial-store") / "store.db"
    _write_store(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, tmp_path_factory) -> str:
    """A private store for this module: a copy of the SQLite one, or a freshly written Postgres database."""
    if request.param == "sqlite":
        dst = tmp_path_factory.mktemp("adversarial") / "store.db"
        shutil.copy(request.getfixturevalue("two_ticker_sqlite_file"), dst)
        return f"sqlite:///{dst}"
    url = fresh_postgres(request.getfixturevalue("postgres_database"))
    _write_store(url)
    return url


@pytest.fixture(scope="module")
def web(store_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("adversarial-web")
    with WebServer(web_env(store_url, tmp), workers=2, log_path=tmp / "gunicorn.log") as server:
        yield server


@pytest.fixture(scope="session")
def browser(chromium_browser):
    """The session's one Chromium (tests/conftest.py)."""
    return chromium_browser
