"""Read-side queries the analyst pages need, and the fingerprint that says when they go stale.

(Run history, the active run and the clock's status come from ``store.runs``.)

Every function here only reads. Analyst pages read one :class:`Snapshot` per
ticker: the close history, where prices came from, and for each cell type the
served model with its precomputed outputs. :func:`store_version` is a fingerprint
every price, ledger and model write changes (a promotion or rollback, a new or deleted
model, a new, corrected or re-based close, a published or scored forecast), so the web's
cache (``dashboard.cache``) rebuilds a snapshot on the next read after any of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select

from contract.outputs import ANALYST_OUTPUTS, AnalystOutputs
from contract.vocab import CELLS
from store.prices import TickerSummary, price_summary
from store.registry import ModelInfo, get_model, outputs_query
from store.tables import Champion, ChampionEvent, Comparison, LedgerEntry, ModelRecord, Price, PriceRebasing

# What store_version returns: scalars of the store (ids, counts, dates as ISO text).
StoreVersion = tuple[object, ...]


def store_version(engine: Engine, ticker: str) -> StoreVersion:
    """A cheap fingerprint of ``ticker`` that every price, ledger and model write changes.

    Models: latest champion event id, latest model id, models, champions, latest
    comparison id. Prices: last date, rows, last fetch time (every price write stamps
    the rows it writes, a correction too), latest re-basing id. Ledger: latest row id,
    latest scoring time (rows are only added, and scored once). One round trip of
    scalar sub-queries; about 2 ms on SQLite with ten years of prices and 38,000
    ledger rows (a count or sum over those rows would cost 3-40 ms a request).
    """
    mine = Price.ticker == ticker
    stmt = select(
        select(func.max(ChampionEvent.id)).where(ChampionEvent.ticker == ticker).scalar_subquery(),
        select(func.max(ModelRecord.id)).where(ModelRecord.ticker == ticker).scalar_subquery(),
        select(func.count()).select_from(ModelRecord).where(ModelRecord.ticker == ticker).scalar_subquery(),
        select(func.count()).select_from(Champion).where(Champion.ticker == ticker).scalar_subquery(),
        select(func.max(Comparison.id)).where(Comparison.ticker == ticker).scalar_subquery(),
        select(func.max(Price.date)).where(mine).scalar_subquery(),
        select(func.count()).select_from(Price).where(mine).scalar_subquery(),
        select(func.max(Price.fetched_at)).where(mine).scalar_subquery(),
        select(func.max(PriceRebasing.id)).where(PriceRebasing.ticker == ticker).scalar_subquery(),
        select(func.max(LedgerEntry.id)).where(LedgerEntry.ticker == ticker).scalar_subquery(),
        select(func.max(LedgerEntry.scored_at)).where(LedgerEntry.ticker == ticker).scalar_subquery(),
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
