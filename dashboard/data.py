"""The web process's context: settings, the store, the read caches and the clock.

``create_app(settings)`` builds one :class:`Web` and installs it; pages and callbacks read
it through the accessors below. Nothing is built at import, and the engine and caches are
built on first use, so ``gunicorn`` forks its workers before any database connection
exists. One :class:`Web` serves a process at a time (Dash's page registry is per process
too); installing another disposes of the previous one's engine.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from config.settings import Settings
from store import deadline
from store.db import create_schema, make_engine
from store.ledger_reads import LedgerView
from store.queries import Snapshot
from store.times import utc_now

from . import cache, inputs

log = logging.getLogger(__name__)


@dataclass
class Web:
    """What every page and callback of one app reads: its settings, its one clock (``now``),
    and the store engine and read caches, each built on first use."""

    settings: Settings
    now: Callable[[], datetime] = utc_now

    @cached_property
    def _engine(self) -> Engine:
        eng = deadline.install(make_engine(self.settings.database_url))  # each request's reads stop at its deadline
        try:
            # A first start before `python -m jobs migrate` still gets empty tables, so
            # every page can say what is missing instead of failing on "no such table". Never under a
            # request's deadline: a migration stopped half-way would keep its lock on a pooled connection.
            with deadline.exempt():
                create_schema(eng)
        except Exception:  # pragma: no cover - read-only database user, say
            log.warning("could not create the schema; run: python -m jobs migrate", exc_info=True)
        return eng

    @cached_property
    def _reads(self) -> cache.VersionedCache[Snapshot]:
        # Bounded: only configured tickers reach it (see ticker_choice), and it evicts anyway.
        return cache.snapshots(self.engine(), max_entries=max(4, len(self.settings.tickers)))

    @cached_property
    def _ledger_reads(self) -> cache.VersionedCache[LedgerView]:
        return cache.ledgers(self.engine(), max_entries=max(4, len(self.settings.tickers)))

    def engine(self) -> Engine:
        return self._engine

    def reads(self) -> cache.VersionedCache[Snapshot]:
        return self._reads

    def ledger_reads(self) -> cache.VersionedCache[LedgerView]:
        """The forecast ledger's read cache (the Track record page)."""
        return self._ledger_reads

    def close(self) -> None:
        """Dispose of the engine (its pooled connections) and forget the caches."""
        if "_engine" in self.__dict__:
            self._engine.dispose()
        for built in ("_engine", "_reads", "_ledger_reads"):
            self.__dict__.pop(built, None)


_installed: list[Web] = []  # at most one: the context of the app this process serves


def install(web: Web) -> Web:
    """Make ``web`` the context every page and callback of this process reads."""
    for old in _installed:
        old.close()
    _installed[:] = [web]
    return web


def current() -> Web:
    if not _installed:
        raise RuntimeError("no web context: build the app with dashboard.app.create_app(settings)")
    return _installed[0]


def settings() -> Settings:
    return current().settings


def engine() -> Engine:
    return current().engine()


def reads() -> cache.VersionedCache[Snapshot]:
    return current().reads()


def ledger_reads() -> cache.VersionedCache[LedgerView]:
    return current().ledger_reads()


def now() -> datetime:
    """The one clock of the web process (a test installs a fixed one)."""
    return current().now()


def ticker_choice(ticker: Any) -> str:
    """The ticker a page or callback asked for (``?ticker=MSFT``): blank or None is the default,
    anything not configured raises ``inputs.Refused`` (never another ticker in its place)."""
    if isinstance(ticker, str) and not ticker.strip():
        ticker = None
    return inputs.ticker(ticker, settings().tickers, default=settings().default_ticker)


def snapshot(ticker: str | None = None) -> Snapshot:
    """What the analyst pages draw for ``ticker`` (default: the first of TICKERS); an
    unconfigured ticker raises ``inputs.Refused`` before anything is read or cached."""
    return reads().get(ticker_choice(ticker))


def plain(fig: Any) -> dict:
    """A figure as plain JSON-ready dict: memoise this, not the ``go.Figure``.

    Dash would otherwise re-run plotly's validation-heavy ``to_plotly_json`` on every
    request (about 80% of a cell-switch callback's time). Numbers are rounded to six
    significant digits.
    """
    import json

    import plotly.io as pio

    deadline.check()  # between figures too, not only at store reads: a long page stops at its deadline

    # Six significant digits is far below what a chart can show and halves the payload
    # of stored full-precision floats (and the time Dash spends encoding it).
    result: dict = json.loads(pio.to_json(fig, validate=False), parse_float=lambda x: float(f"{float(x):.6g}"))
    return result
