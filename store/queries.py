"""Read-side queries the analyst pages need, and a cache that knows when they go stale.

(Run history, the active run and the clock's status come from ``store.runs``.)

Every function here only reads. Analyst pages read one :class:`Snapshot` per
ticker: the close history, where prices came from, and for each cell type the
served model with its precomputed outputs. :class:`ReadCache` keeps the snapshot
in process memory keyed on :func:`store_version`, so a promotion or rollback (a
new ``champion_events`` row), a newly trained model or a new price day makes the
next read rebuild it; a TTL bounds staleness for anything else.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

import pandas as pd
from sqlalchemy import Engine, func, select

from contract.outputs import ANALYST_OUTPUTS, AnalystOutputs
from contract.vocab import CELLS
from store.prices import TickerSummary, price_summary
from store.registry import ModelInfo, get_model, outputs_query
from store.tables import Champion, ChampionEvent, Comparison, ModelRecord, Price, PriceDeletion

MAX_DERIVED = 64  # memoised figures per snapshot (a page needs about ten)

# What store_version returns: scalars of the store (ids, counts, dates as ISO text).
StoreVersion = tuple[object, ...]


def store_version(engine: Engine, ticker: str) -> StoreVersion:
    """A cheap fingerprint that changes whenever what analysts see could change.

    (latest champion event id, latest model id, number of champions, last price
    date, last fetch time, latest comparison id, latest price deletion id) - one round trip
    with scalar sub-queries.
    """
    stmt = select(
        select(func.max(ChampionEvent.id)).where(ChampionEvent.ticker == ticker).scalar_subquery(),
        select(func.max(ModelRecord.id)).where(ModelRecord.ticker == ticker).scalar_subquery(),
        select(func.count()).select_from(Champion).where(Champion.ticker == ticker).scalar_subquery(),
        select(func.max(Price.date)).where(Price.ticker == ticker).scalar_subquery(),
        select(func.max(Price.fetched_at)).where(Price.ticker == ticker).scalar_subquery(),
        select(func.max(Comparison.id)).where(Comparison.ticker == ticker).scalar_subquery(),
        # a removed price day (delete-day) changes neither the last date nor the last fetch time
        select(func.max(PriceDeletion.id)).where(PriceDeletion.ticker == ticker).scalar_subquery(),
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).one()
    return tuple(str(v) if isinstance(v, (date, datetime)) else v for v in row)


def close_history(engine: Engine, ticker: str) -> pd.Series[float]:
    """Adjusted closes, oldest first, indexed by date (empty Series when none)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Price.date, Price.close).where(Price.ticker == ticker).order_by(Price.date)
        ).all()
    if not rows:
        return pd.Series(dtype=float, name="close")
    dates, closes = zip(*rows)
    return pd.Series(closes, index=pd.DatetimeIndex(pd.to_datetime(list(dates)), name="date"), name="close", dtype=float)


def served_model_ids(engine: Engine, ticker: str) -> dict[str, int]:
    """cell -> model id the dashboard shows: the champion, else the newest model of that cell."""
    with engine.connect() as conn:
        champs = dict(conn.execute(select(Champion.cell, Champion.model_id).where(Champion.ticker == ticker)).all())
        newest = conn.execute(
            select(ModelRecord.cell, func.max(ModelRecord.id)).where(ModelRecord.ticker == ticker).group_by(ModelRecord.cell)
        ).all()
    out = {cell: mid for cell, mid in newest}
    out.update(champs)
    # the three known cells first, in the house order
    return {c: out[c] for c in CELLS if c in out} | {c: m for c, m in out.items() if c not in CELLS}


def model_outputs(engine: Engine, model_id: int) -> AnalystOutputs:
    """name -> payload for one model (only the analyst pages' names that were stored)."""
    with engine.connect() as conn:
        rows = conn.execute(outputs_query(model_id, ANALYST_OUTPUTS)).all()
    out: AnalystOutputs = {}
    out.update({name: payload for name, payload in rows})  # type: ignore[typeddict-item]  # JSON read back: keys are ANALYST_OUTPUTS
    return out


def latest_comparison(engine: Engine, ticker: str, served: dict[str, int]) -> dict[str, Any] | None:
    """The newest cross-cell comparison of exactly the ``served`` models (cell -> id), or None."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Comparison.model_ids, Comparison.payload).where(Comparison.ticker == ticker)
            .order_by(Comparison.id.desc()).limit(5)
        ).all()
    want = {c: int(m) for c, m in served.items()}
    for ids, payload in rows:
        if {c: int(m) for c, m in (ids or {}).items()} == want:
            found: dict[str, Any] = payload
            return found
    return None


@dataclass
class CellView:
    """One cell type's served model and its precomputed outputs."""

    cell: str
    info: ModelInfo
    outputs: AnalystOutputs


@dataclass
class Snapshot:
    """Everything the analyst pages draw for one ticker, read in one go."""

    ticker: str
    version: StoreVersion
    closes: pd.Series[float]
    status: TickerSummary | None
    cells: dict[str, CellView]
    comparison: dict[str, Any] | None = None  # cross-cell comparison of exactly these served models (rolling origins)
    derived: dict[str, Any] = field(default_factory=dict)  # memoised figures etc. for this version

    @property
    def has_prices(self) -> bool:
        return not self.closes.empty

    @property
    def has_models(self) -> bool:
        return bool(self.cells)


def load_snapshot(engine: Engine, ticker: str, version: StoreVersion | None = None) -> Snapshot:
    version = version if version is not None else store_version(engine, ticker)
    served = served_model_ids(engine, ticker)
    cells = {cell: CellView(cell=cell, info=get_model(engine, mid), outputs=model_outputs(engine, mid))
             for cell, mid in served.items()}
    return Snapshot(ticker=ticker, version=version, closes=close_history(engine, ticker),
                    status=price_summary(engine, ticker), cells=cells,
                    comparison=latest_comparison(engine, ticker, served) if len(served) > 1 else None)


class ReadCache:
    """Process-local cache of :class:`Snapshot` per ticker.

    Each ``get`` costs one small query (:func:`store_version`); the snapshot is
    rebuilt only when that version changes or ``ttl_seconds`` passed.
    """

    def __init__(self, engine: Engine, ttl_seconds: float = 300, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = 16) -> None:
        self.engine = engine
        self.ttl = ttl_seconds
        self.clock = clock
        self.max_entries = max_entries  # least recently used snapshots go first: memory stays bounded
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, Snapshot]] = OrderedDict()
        self.loads = 0  # how many times a snapshot was (re)built; tests read it

    def get(self, ticker: str) -> Snapshot:
        version = store_version(self.engine, ticker)
        now = self.clock()
        with self._lock:
            hit = self._entries.get(ticker)
            if hit and hit[1].version == version and now - hit[0] < self.ttl:
                self._entries.move_to_end(ticker)
                return hit[1]
        snap = load_snapshot(self.engine, ticker, version)
        with self._lock:
            self._entries[ticker] = (now, snap)
            self._entries.move_to_end(ticker)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            self.loads += 1
        return snap

    def memo(self, snapshot: Snapshot, key: Any, build: Callable[[], Any]) -> Any:
        """Compute something derived from ``snapshot`` once per snapshot version.

        At most ``MAX_DERIVED`` keys are kept per snapshot; past that the value is built
        and not stored, so no key a client can vary grows memory."""
        try:
            return snapshot.derived[key]
        except KeyError:
            value = build()
            if len(snapshot.derived) < MAX_DERIVED:
                snapshot.derived[key] = value
            return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
