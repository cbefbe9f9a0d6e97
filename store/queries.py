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

from contract.vocab import CELLS
from contract.outputs import ANALYST_OUTPUTS
from store.tables import Champion, ChampionEvent, Comparison, ModelOutput, ModelRecord, Price

MAX_DERIVED = 64  # memoised figures per snapshot (a page needs about ten)

# Columns of ModelRecord worth showing (everything but the model bytes).
_MODEL_COLUMNS = [
    ModelRecord.id,
    ModelRecord.ticker,
    ModelRecord.cell,
    ModelRecord.version,
    ModelRecord.kind,
    ModelRecord.parent_id,
    ModelRecord.run_id,
    ModelRecord.hyperparams,
    ModelRecord.seed,
    ModelRecord.data_start,
    ModelRecord.data_end,
    ModelRecord.val_start,
    ModelRecord.test_start,
    ModelRecord.metrics,
    ModelRecord.train_seconds,
    ModelRecord.param_count,
    ModelRecord.created_at,
]


def store_version(engine: Engine, ticker: str) -> tuple:
    """A cheap fingerprint that changes whenever what analysts see could change.

    (latest champion event id, latest model id, number of champions, last price
    date, last fetch time, latest comparison id) - one round trip with scalar sub-queries.
    """
    stmt = select(
        select(func.max(ChampionEvent.id)).where(ChampionEvent.ticker == ticker).scalar_subquery(),
        select(func.max(ModelRecord.id)).where(ModelRecord.ticker == ticker).scalar_subquery(),
        select(func.count()).select_from(Champion).where(Champion.ticker == ticker).scalar_subquery(),
        select(func.max(Price.date)).where(Price.ticker == ticker).scalar_subquery(),
        select(func.max(Price.fetched_at)).where(Price.ticker == ticker).scalar_subquery(),
        select(func.max(Comparison.id)).where(Comparison.ticker == ticker).scalar_subquery(),
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).one()
    return tuple(str(v) if isinstance(v, (date, datetime)) else v for v in row)


def close_history(engine: Engine, ticker: str) -> pd.Series:
    """Adjusted closes, oldest first, indexed by date (empty Series when none)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Price.date, Price.close).where(Price.ticker == ticker).order_by(Price.date)
        ).all()
    if not rows:
        return pd.Series(dtype=float, name="close")
    dates, closes = zip(*rows)
    return pd.Series(closes, index=pd.DatetimeIndex(pd.to_datetime(list(dates)), name="date"), name="close", dtype=float)


def data_status(engine: Engine, ticker: str) -> dict | None:
    """Where the prices came from and how fresh they are, or None with no prices."""
    with engine.connect() as conn:
        first, last, n, fetched = conn.execute(
            select(func.min(Price.date), func.max(Price.date), func.count(), func.max(Price.fetched_at)).where(
                Price.ticker == ticker
            )
        ).one()
        if not n:
            return None
        source = conn.execute(
            select(Price.source).where(Price.ticker == ticker, Price.date == last).limit(1)
        ).scalar()
    return {"ticker": ticker, "first_date": first, "last_date": last, "rows": n, "source": source, "fetched_at": fetched}


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


def model_info(engine: Engine, model_id: int) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(select(*_MODEL_COLUMNS).where(ModelRecord.id == model_id)).mappings().first()
    return dict(row) if row else None


def model_outputs(engine: Engine, model_id: int) -> dict[str, Any]:
    """name -> payload for one model (only the analyst pages' names that were stored)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(ModelOutput.name, ModelOutput.payload)
            .where(ModelOutput.model_id == model_id, ModelOutput.name.in_(ANALYST_OUTPUTS))
        ).all()
    return {name: payload for name, payload in rows}


def models_table(engine: Engine, ticker: str) -> list[dict]:
    """Every stored model of a ticker, newest first, with whether it is the champion."""
    with engine.connect() as conn:
        champs = set(conn.execute(select(Champion.model_id).where(Champion.ticker == ticker)).scalars())
        rows = conn.execute(
            select(*_MODEL_COLUMNS).where(ModelRecord.ticker == ticker).order_by(ModelRecord.id.desc())
        ).mappings().all()
    return [dict(r) | {"is_champion": r["id"] in champs} for r in rows]


def champion_history(engine: Engine, ticker: str, limit: int = 20) -> list[dict]:
    """Promotions and rollbacks, newest first."""
    cols = [ChampionEvent.id, ChampionEvent.cell, ChampionEvent.model_id, ChampionEvent.previous_model_id,
            ChampionEvent.action, ChampionEvent.actor, ChampionEvent.at]
    with engine.connect() as conn:
        rows = conn.execute(
            select(*cols).where(ChampionEvent.ticker == ticker).order_by(ChampionEvent.id.desc()).limit(limit)
        ).mappings().all()
    return [dict(r) for r in rows]


def latest_comparison(engine: Engine, ticker: str, served: dict[str, int]) -> dict | None:
    """The newest cross-cell comparison of exactly the ``served`` models (cell -> id), or None."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Comparison.model_ids, Comparison.payload).where(Comparison.ticker == ticker)
            .order_by(Comparison.id.desc()).limit(5)
        ).all()
    want = {c: int(m) for c, m in served.items()}
    for ids, payload in rows:
        if {c: int(m) for c, m in (ids or {}).items()} == want:
            return payload
    return None


@dataclass
class CellView:
    """One cell type's served model and its precomputed outputs."""

    cell: str
    info: dict
    outputs: dict[str, Any]


@dataclass
class Snapshot:
    """Everything the analyst pages draw for one ticker, read in one go."""

    ticker: str
    version: tuple
    closes: pd.Series
    status: dict | None
    cells: dict[str, CellView]
    comparison: dict | None = None  # cross-cell comparison of exactly these served models (rolling origins)
    derived: dict[str, Any] = field(default_factory=dict)  # memoised figures etc. for this version

    @property
    def has_prices(self) -> bool:
        return not self.closes.empty

    @property
    def has_models(self) -> bool:
        return bool(self.cells)


def load_snapshot(engine: Engine, ticker: str, version: tuple | None = None) -> Snapshot:
    version = version if version is not None else store_version(engine, ticker)
    cells = {}
    served = served_model_ids(engine, ticker)
    for cell, mid in served.items():
        info = model_info(engine, mid)
        if info is not None:
            cells[cell] = CellView(cell=cell, info=info, outputs=model_outputs(engine, mid))
    return Snapshot(ticker=ticker, version=version, closes=close_history(engine, ticker),
                    status=data_status(engine, ticker), cells=cells,
                    comparison=latest_comparison(engine, ticker, served) if len(served) > 1 else None)


class ReadCache:
    """Process-local cache of :class:`Snapshot` per ticker.

    Each ``get`` costs one small query (:func:`store_version`); the snapshot is
    rebuilt only when that version changes or ``ttl_seconds`` passed.
    """

    def __init__(self, engine: Engine, ttl_seconds: float = 300, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = 16):
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
