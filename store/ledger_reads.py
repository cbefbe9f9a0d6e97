"""The web's cached view of the forecast ledger, one per ticker, rebuilt whenever the store changes.

A ``get`` costs one indexed query (:func:`store.queries.store_version`: the fingerprint
every price, ledger and model write changes); the frame of every row is re-read only
when that version changed, so the next page load after a price write (which scores
what it settles) or a publication shows it. Anything derived from the frame and the
closes (scores, figures, "N of 5 days known") is memoised on the view, so it is
computed once per version. Bounded: at most ``max_entries`` tickers, least recently
used first out.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd
from sqlalchemy import Engine

from store.ledger import load_ledger
from store.queries import StoreVersion, store_version

MAX_DERIVED = 64  # memoised values per view (a page needs a few per cell)


@dataclass
class LedgerView:
    ticker: str
    version: StoreVersion
    frame: pd.DataFrame  # store.ledger.READ_COLUMNS
    derived: dict[Any, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.frame.empty

    def memo(self, key: Any, build: Callable[[], Any]) -> Any:
        """``build()`` once per version of this view (a race computes it twice, harmlessly); at most
        ``MAX_DERIVED`` keys are kept, so no key a client can vary grows memory."""
        try:
            return self.derived[key]
        except KeyError:
            value = build()
            if len(self.derived) < MAX_DERIVED:
                self.derived[key] = value
            return value


class LedgerCache:
    """Process-local :class:`LedgerView` per ticker (callers pass configured tickers only)."""

    def __init__(self, engine: Engine, max_entries: int = 16) -> None:
        self.engine = engine
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, LedgerView] = OrderedDict()
        self.loads = 0  # frames read from the store; tests read it

    def get(self, ticker: str) -> LedgerView:
        version = store_version(self.engine, ticker)
        with self._lock:
            hit = self._entries.get(ticker)
            if hit and hit.version == version:
                self._entries.move_to_end(ticker)
                return hit
        view = LedgerView(ticker, version, load_ledger(self.engine, ticker))
        with self._lock:
            self._entries[ticker] = view
            self._entries.move_to_end(ticker)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            self.loads += 1
        return view
