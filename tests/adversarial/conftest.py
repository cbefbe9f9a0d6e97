"""A real gunicorn (2 workers) on a store with AAPL and MSFT models, once on SQLite and
once on the machine's Postgres, with admin login configured; and headless Chromium.

The store is the UI tests' two-ticker store (tests.support.browser.write_two_ticker_store): AAPL
simplernn #1, lstm #2, gru #3 (v1) and #4 (v2, champion); MSFT simplernn #5, lstm #6, gru #7 and #8 (champion).
"""
from __future__ import annotations

import shutil

import pytest

from scripts.web_server import WebServer
from dashboard import ids
from tests.support.browser import web_env, write_two_ticker_store
from tests.support.dashboard_env import ADMIN
from tests.support.services import fresh_postgres


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, tmp_path_factory) -> str:
    """A private store for this module: a copy of the SQLite one, or a freshly written Postgres database."""
    if request.param == "sqlite":
        dst = tmp_path_factory.mktemp("adversarial") / "store.db"
        shutil.copy(request.getfixturevalue("two_ticker_store"), dst)
        return f"sqlite:///{dst}"
    url = fresh_postgres(request.getfixturevalue("postgres_database"))
    write_two_ticker_store(url)
    return url


@pytest.fixture(scope="module")
def web(store_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("adversarial-web")
    with WebServer(web_env(store_url, tmp), workers=2, log_path=tmp / "gunicorn.log") as server:
        yield server


@pytest.fixture
def admin_page(web, chromium):
    """The admin page of this module's server, signed in, its runs list rendered."""
    ctx = chromium.new_context(http_credentials={"username": ADMIN[0], "password": ADMIN[1]})
    page = ctx.new_page()
    page.goto(web.url + "/admin")
    page.wait_for_selector(f"#{ids.Admin.RUNS} > *", timeout=20000)
    yield page
    ctx.close()
