"""The web's cached view of the forecast ledger, one per ticker, rebuilt only when the ledger changes.

A ``get`` costs at most one indexed query a second per ticker (:func:`store.ledger.ledger_version`: the
newest row id and the newest scoring time); the frame of every row is re-read only
when a row was added or scored, or after ``ttl_seconds``. Anything derived from the
frame (scores, figures) is memoised on the view, so it is computed once per version.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd
from sqlalchemy import Engine

from store.ledger import LedgerVersion, ledger_version, load_ledger


@dataclass
class LedgerView:
    ticker: str
    version: LedgerVersion
    frame: pd.DataFrame  # store.ledger.COLUMNS
    derived: dict[Any, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.frame.empty

    def memo(self, key: Any, build: Callable[[], Any]) -> Any:
        """``build()`` once per version of this view (a race computes it twice, harmlessly)."""
        try:
            return self.derived[key]
        except KeyError:
            value = self.derived[key] = build()
            return value


class LedgerCache:
    """Process-local :class:`LedgerView` per ticker (callers pass configured tickers only)."""

    def __init__(self, engine: Engine, ttl_seconds: float = 300, clock: Callable[[], float] = time.monotonic,
                 recheck_seconds: float = 1.0) -> None:
        self.engine, self.ttl, self.clock = engine, ttl_seconds, clock
        # The version query costs a few ms: asked at most once a second per ticker, not on every request.
        self.recheck = recheck_seconds
        self._checked: dict[str, float] = {}
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, LedgerView]] = {}
        self.loads = 0  # frames read from the store; tests read it

    def get(self, ticker: str) -> LedgerView:
        now = self.clock()
        with self._lock:
            hit = self._entries.get(ticker)
            if hit and now - self._checked.get(ticker, -1e18) < self.recheck and now - hit[0] < self.ttl:
                return hit[1]
        version = ledger_version(self.engine, ticker)
        with self._lock:
            self._checked[ticker] = now
            if hit and hit[1].version == version and now - hit[0] < self.ttl:
                return hit[1]
        view = LedgerView(ticker, version, load_ledger(self.engine, ticker))
        with self._lock:
            self._entries[ticker] = (now, view)
            self.loads += 1
        return view
