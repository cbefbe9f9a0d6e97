"""The web's one read cache: a value per ticker, rebuilt exactly when the store changes.

A ``get`` costs one small query (:func:`store.queries.store_version`, the fingerprint every
price, ledger and model write changes: a promotion or rollback, a new or deleted model, a new,
corrected or re-based close, a published or scored forecast); the value is re-read only when
that version changed, so the next read after any write shows it: no time-to-live, no page
showing yesterday beside today. Anything derived from a value (figures, scores, "N of 5 days
known") is memoised beside it, so it is computed once per version. Bounded both ways: at most
``max_entries`` tickers, least recently used first out, and ``MAX_DERIVED`` memoised keys per
value, so no key a client can vary grows memory.

Two instances serve the pages: the analyst pages' :class:`store.queries.Snapshot` and the Track
record's :class:`store.ledger_reads.LedgerView`.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Engine

from store.ledger_reads import LedgerView, load_ledger_view
from store.queries import Snapshot, StoreVersion, load_snapshot, store_version

MAX_DERIVED = 64  # memoised values per cached value (a page needs about ten)


class Read(Protocol):
    """What the cache holds: a per-ticker read that knows the store version it was read at."""

    @property
    def ticker(self) -> str: ...

    @property
    def version(self) -> StoreVersion: ...


R = TypeVar("R", bound=Read)


@dataclass
class _Entry(Generic[R]):
    value: R
    derived: dict[Any, Any] = field(default_factory=dict)


class VersionedCache(Generic[R]):
    """Process-local value per ticker, read by ``load(engine, ticker, version)`` (callers pass
    configured tickers only)."""

    def __init__(self, engine: Engine, load: Callable[[Engine, str, StoreVersion], R], max_entries: int = 16) -> None:
        self.engine = engine
        self.load = load
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry[R]] = OrderedDict()
        self.loads = 0  # how many times a value was (re)read; tests read it

    def get(self, ticker: str) -> R:
        version = store_version(self.engine, ticker)
        with self._lock:
            hit = self._entries.get(ticker)
            if hit and hit.value.version == version:
                self._entries.move_to_end(ticker)
                return hit.value
        value = self.load(self.engine, ticker, version)
        with self._lock:
            self._entries[ticker] = _Entry(value)
            self._entries.move_to_end(ticker)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            self.loads += 1
        return value

    def memo(self, value: R, key: Any, build: Callable[[], Any]) -> Any:
        """``build()`` once per version of ``value`` (a race computes it twice, harmlessly). A value
        no longer cached, or past ``MAX_DERIVED`` keys, is built and not stored."""
        with self._lock:
            entry = self._entries.get(value.ticker)
        if entry is None or entry.value is not value:
            return build()
        try:
            return entry.derived[key]
        except KeyError:
            built = build()
            if len(entry.derived) < MAX_DERIVED:
                entry.derived[key] = built
            return built

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def snapshots(engine: Engine, max_entries: int = 16) -> VersionedCache[Snapshot]:
    """The analyst pages' cache: one :class:`Snapshot` per ticker."""
    return VersionedCache(engine, load_snapshot, max_entries)


def ledgers(engine: Engine, max_entries: int = 16) -> VersionedCache[LedgerView]:
    """The Track record page's cache: one :class:`LedgerView` (the ledger's rows) per ticker."""
    return VersionedCache(engine, load_ledger_view, max_entries)
