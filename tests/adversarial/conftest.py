"""A real gunicorn (2 workers) on a store with AAPL and MSFT models, once on SQLite and
once on the machine's Postgres, with admin login configured; and headless Chromium.

Model ids in the store: AAPL simplernn #1, lstm #2, gru #3 (v1) and #4 (v2, champion);
MSFT gru #5 (v1) and #6 (v2, champion).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.db import make_engine
from store.tables import Champion, ChampionEvent, LoginFailure, Run, UsedRunTicket
from scripts.web_server import WebServer
from tests.conftest import _fresh_postgres
from tests.support.dashboard_env import ADMIN

CHROMIUM = "/usr/bin/chromium"
TICKERS = "AAPL,MSFT"


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
    url = _fresh_postgres(request.getfixturevalue("postgres_database"))
    _write_store(url)
    return url


def web_env(store_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": store_url, "CACHE_DIR": str(tmp / "cache"), "DATA_DIR": str(tmp / "data"),
            "PRICE_SOURCE": "offline", "ADMIN_USER": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1], "TICKERS": TICKERS,
            "ANALYST_USER": "", "ANALYST_PASSWORD": "", "REDIS_URL": "", **extra}


@pytest.fixture(scope="module")
def web(store_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("adversarial-web")
    with WebServer(web_env(store_url, tmp), workers=2, log_path=tmp / "gunicorn.log") as server:
        yield server


def store_state(url: str) -> dict:
    """What an attack must not change: champions, the audit trail, runs, spent tickets."""
    engine = make_engine(url)
    with engine.connect() as conn:
        state = {
            "champions": sorted(conn.execute(select(Champion.ticker, Champion.cell, Champion.model_id)).all()),
            "events": conn.execute(select(func.count()).select_from(ChampionEvent)).scalar(),
            "runs": conn.execute(select(func.count()).select_from(Run)).scalar(),
            "cancels": conn.execute(select(func.count()).select_from(Run).where(Run.cancel_requested)).scalar(),
            "tickets": conn.execute(select(func.count()).select_from(UsedRunTicket)).scalar(),
        }
    engine.dispose()
    return state


def clear_login_failures(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(LoginFailure.__table__.delete())
    engine.dispose()


@pytest.fixture(scope="session")
def browser(chromium_browser):
    """The session's one Chromium (tests/conftest.py)."""
    return chromium_browser
