"""Real-browser fixtures for the UI tests: gunicorn on a two-ticker fixture store, Debian Chromium via Playwright."""
from __future__ import annotations

from pathlib import Path

import pytest

from store.db import make_engine
from tests.support.dashboard_env import ADMIN

TICKERS = ("AAPL", "MSFT")


def write_two_ticker_store(url: str) -> None:
    """Offline AAPL and MSFT prices and stand-in models for every cell: AAPL simplernn #1, lstm #2, gru #3
    (v1) and #4 (v2, champion); MSFT simplernn #5, lstm #6, gru #7 and #8 (champion)."""
    from scripts.fixture_store import write_fixture_models

    engine = make_engine(url)
    for ticker in TICKERS:
        write_fixture_models(engine, ticker)
    engine.dispose()


@pytest.fixture(scope="session")
def two_ticker_store(tmp_path_factory) -> Path:
    """A SQLite file written by ``write_two_ticker_store`` (built once a session; copy it to change it)."""
    path = tmp_path_factory.mktemp("ui-store") / "store.db"
    write_two_ticker_store(f"sqlite:///{path}")
    return path


def web_env(store_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": store_url, "CACHE_DIR": str(tmp / "cache"), "DATA_DIR": str(tmp / "data"),
            "PRICE_SOURCE": "offline", "ADMIN_USER": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1], "TICKERS": ",".join(TICKERS),
            "REDIS_URL": "", "ANALYST_USER": "", "ANALYST_PASSWORD": "", **extra}


@pytest.fixture(scope="module")
def chromium(chromium_browser):
    """The session's one Chromium (tests/conftest.py: Playwright's sync API allows one instance)."""
    return chromium_browser


def open_page(browser, width: int = 1400, height: int = 1000, admin: bool = True, **ctx_args):
    """A new page that records console errors and uncaught exceptions in ``page.errors``."""
    creds = {"http_credentials": {"username": ADMIN[0], "password": ADMIN[1]}} if admin else {}
    ctx = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True, **creds, **ctx_args)
    page = ctx.new_page()
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page


# How often a page-side wait re-checks its condition. Playwright's ``wait_for_function`` re-checks on every
# animation frame by default, which keeps the browser drawing frames the whole time a test waits
# (``python -m scripts.bench_page_waits``: 0.56-0.90 browser CPU-s per 15 s on the Forecast page against
# 0.08-0.12 at 100 ms; on the admin page, whose own polls cost 1.34, 1.59-2.96 against 1.32-1.57).
# A tenth of a second adds at most that to a wait.
WAIT_POLL_MS = 100


def wait_js(page, expression: str, timeout: float | None = None) -> None:
    """``page.wait_for_function(expression)``, re-checked every ``WAIT_POLL_MS`` instead of every frame;
    ``timeout`` in ms (Playwright's default, 30 s, when None)."""
    page.wait_for_function(expression, timeout=timeout, polling=WAIT_POLL_MS)


def settle(page, at_least_ms: int = 1500, timeout_ms: int = 30000) -> None:
    """Wait for the callbacks that fill a page's charts and tables: at least ``at_least_ms`` (chained
    callbacks start one after another), then until Dash has none in flight (its renderer shows a
    ``._dash-loading-callback`` element while any is pending). A fixed wait alone can read a page that
    is still drawing on a loaded machine. On a page with a ``dcc.Interval`` (the admin page polls every
    second) it settles in a gap between two polls; the analyst pages have none."""
    page.wait_for_timeout(at_least_ms)
    wait_js(page, "!document.querySelector('._dash-loading-callback')", timeout=timeout_ms)
