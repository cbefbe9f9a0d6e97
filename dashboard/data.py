"""Cached getters for settings, engine and the read cache: built on first use, once per process.

Nothing here runs at import time, so ``gunicorn dashboard.app:server`` forks its
workers before any database connection exists. Tests call :func:`reset` after
changing the environment.
"""
from __future__ import annotations

import logging
from functools import lru_cache

from sqlalchemy import Engine

from config.settings import PROCESS_GROUPS, Settings, load_settings
from store.db import create_schema, make_engine
from store.queries import ReadCache, Snapshot

from . import inputs

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def settings() -> Settings:
    # Only the web's own settings are checked here: a bad clock setting must not stop the web.
    return load_settings(uses=PROCESS_GROUPS["web"])


@lru_cache(maxsize=1)
def engine() -> Engine:
    eng = make_engine(settings().database_url)
    try:
        # A first start before `python -m jobs migrate` still gets empty tables, so
        # every page can say what is missing instead of failing on "no such table".
        create_schema(eng)
    except Exception:  # pragma: no cover - read-only database user, say
        log.warning("could not create the schema; run: python -m jobs migrate", exc_info=True)
    return eng


@lru_cache(maxsize=1)
def reads() -> ReadCache:
    # Bounded: only configured tickers reach it (see ticker_choice), and it evicts anyway.
    return ReadCache(engine(), ttl_seconds=settings().dashboard_cache_seconds,
                     max_entries=max(4, len(settings().tickers)))


@lru_cache(maxsize=1)
def ledger_reads():
    """The forecast ledger's read cache (the Track record page)."""
    from store.ledger_reads import LedgerCache

    return LedgerCache(engine(), ttl_seconds=settings().dashboard_cache_seconds)


def ticker_choice(ticker) -> str:
    """The ticker a page or callback asked for (``?ticker=MSFT``): blank or None is the default,
    anything not configured raises ``inputs.Refused`` (never another ticker in its place)."""
    if isinstance(ticker, str) and not ticker.strip():
        ticker = None
    return inputs.ticker(ticker, settings().tickers, default=settings().default_ticker)


def snapshot(ticker: str | None = None) -> Snapshot:
    """What the analyst pages draw for ``ticker`` (default: the first of TICKERS); an
    unconfigured ticker raises ``inputs.Refused`` before anything is read or cached."""
    return reads().get(ticker_choice(ticker))


def plain(fig) -> dict:
    """A figure as plain JSON-ready dict: memoise this, not the ``go.Figure``.

    Dash would otherwise re-run plotly's validation-heavy ``to_plotly_json`` on every
    request (about 80% of a cell-switch callback's time). Numbers are rounded to six
    significant digits.
    """
    import json

    import plotly.io as pio

    # Six significant digits is far below what a chart can show and halves the payload
    # of stored full-precision floats (and the time Dash spends encoding it).
    return json.loads(pio.to_json(fig, validate=False), parse_float=lambda x: float(f"{float(x):.6g}"))


def reset() -> None:
    """Forget settings, engine and cache (tests that change the environment)."""
    if engine.cache_info().currsize:
        engine().dispose()
    reads.cache_clear()
    ledger_reads.cache_clear()
    engine.cache_clear()
    settings.cache_clear()
