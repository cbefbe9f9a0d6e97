"""Price repository: read and write daily prices (``marketdata.frames`` shape) in the store."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, Row, and_, delete, func, insert, select
from sqlalchemy.orm import Session

from marketdata.frames import PRICE_COLUMNS, validate_price_frame
from marketdata.tickers import parse_ticker
from store.scoring import record_rebasing, score_pending_in, uniform_factor
from store.tables import SOURCE_LEN, Price


def load_prices(engine: Engine, ticker: str, end: date | None = None) -> pd.DataFrame:
    """All stored prices of ``ticker`` (up to ``end`` inclusive), oldest first."""
    stmt = select(Price.date, Price.open, Price.high, Price.low, Price.close, Price.volume).where(
        Price.ticker == ticker
    )
    if end is not None:
        stmt = stmt.where(Price.date <= end)
    with engine.connect() as conn:
        rows = conn.execute(stmt.order_by(Price.date)).all()
    frame = pd.DataFrame(rows, columns=["date", *PRICE_COLUMNS])
    frame["date"] = pd.to_datetime(frame["date"])
    frame = frame.set_index("date")
    frame[["open", "high", "low", "close"]] = frame[["open", "high", "low", "close"]].astype(float)
    frame["volume"] = frame["volume"].astype("int64")
    return frame


def last_stored_date(engine: Engine, ticker: str) -> date | None:
    with engine.connect() as conn:
        return conn.execute(select(func.max(Price.date)).where(Price.ticker == ticker)).scalar()


def last_stored_source(engine: Engine, ticker: str) -> str | None:
    """Where the newest stored row of ``ticker`` came from (yahoo, offline-sample, csv:...)."""
    with engine.connect() as conn:
        return conn.execute(
            select(Price.source).where(Price.ticker == ticker).order_by(Price.date.desc()).limit(1)
        ).scalar()




def _rows(ticker: str, frame: pd.DataFrame, source: str, now: datetime) -> list[dict[str, Any]]:
    # The last guard: whatever the caller checked, no malformed ticker reaches the table
    # (TickerError), and a long CSV file name cannot overflow the source column on Postgres.
    ticker = parse_ticker(ticker)
    source = source[:SOURCE_LEN]
    if len(frame):  # and no price the sources' checks refuse, whoever wrote the frame
        validate_price_frame(frame, f"{ticker} prices from {source}")
    columns = [frame[c].to_numpy() for c in PRICE_COLUMNS]
    return [
        dict(ticker=ticker, date=ts.date(), open=float(o), high=float(h), low=float(lo), close=float(c),
             volume=int(v), source=source, fetched_at=now)
        for ts, o, h, lo, c, v in zip(pd.DatetimeIndex(frame.index), *columns)
    ]


def insert_prices(session: Session, ticker: str, frame: pd.DataFrame, source: str, now: datetime) -> int:
    """Insert rows (dates must not be stored yet) and score the ledger rows they settle, in the
    session's transaction (``store.scoring``); returns the count."""
    rows = _rows(ticker, frame, source, now)
    if rows:
        session.execute(insert(Price), rows)
        score_pending_in(session.connection(), rows[0]["ticker"], now)
    return len(rows)


# A whole-history refetch (replace_all_prices) may lack a few stored days (a source that dropped a
# holiday row, say): its overlap with the store must still cover this share of the stored days.
REFETCH_MIN_SHARE = 0.9


def _record_if_rebased(session: Session, ticker: str, frame: pd.DataFrame, now: datetime,
                       min_share: float = 1.0) -> float | None:
    """Record a re-basing when ``frame`` rewrites the stored days it shares with the store (at least
    ``min_share`` of them: all of them for an upsert) by one factor; returns it.

    Anything less (a correction of some days, a history that differs day by day) is no
    re-basing: the ledger then scores every row on the stored close of its date.
    """
    ticker = parse_ticker(ticker)
    stored = session.execute(select(Price.date, Price.close).where(Price.ticker == ticker)).all()
    if not stored:
        return None
    incoming = dict(zip((ts.date() for ts in frame.index), frame["close"].to_numpy(dtype=float)))
    if len(incoming) != len(frame):
        return None
    shared = [(d, c) for d, c in stored if d in incoming]
    if len(shared) < min_share * len(stored):
        return None
    factor = uniform_factor(np.array([c for _, c in shared], dtype=float), np.array([incoming[d] for d, _ in shared]))
    if factor is not None:
        record_rebasing(session.connection(), ticker, factor, len(shared), now)
    return factor


def replace_all_prices(session: Session, ticker: str, frame: pd.DataFrame, source: str, now: datetime) -> int:
    """Replace a ticker's whole history (used after a split re-based Yahoo's history)."""
    _record_if_rebased(session, ticker, frame, now, min_share=REFETCH_MIN_SHARE)
    session.execute(delete(Price).where(Price.ticker == ticker))
    return insert_prices(session, ticker, frame, source, now)


@dataclass(frozen=True)
class Overlap:
    """How rows about to be written compare with the stored rows of the same dates."""

    rows: int  # dates both in the frame and in the store
    differing: int  # of those, rows where any column differs beyond float noise
    max_rel_diff: float  # the largest relative difference, over every column and row
    worst: str  # "close on 2024-01-05", where it is


# Equal within what an export (6 decimals) and a float round-trip through the database keep.
SAME_RTOL, SAME_ATOL = 1e-7, 1e-6


def compare_with_stored(session: Session, ticker: str, frame: pd.DataFrame) -> Overlap:
    """Compare ``frame`` with what ``session`` sees stored for ``ticker`` on the same dates."""
    dates = [ts.date() for ts in frame.index]
    stored: list[Row[Any]] = []
    for i in range(0, len(dates), 500):  # keep the IN list well under driver limits
        stored += session.execute(
            select(Price.date, *(getattr(Price, c) for c in PRICE_COLUMNS))
            .where(Price.ticker == ticker, Price.date.in_(dates[i : i + 500]))
        ).all()
    if not stored:
        return Overlap(0, 0, 0.0, "")
    old = pd.DataFrame(stored, columns=["date", *PRICE_COLUMNS]).set_index("date").astype(float)
    a = frame.loc[pd.DatetimeIndex([pd.Timestamp(d) for d in old.index]), PRICE_COLUMNS].to_numpy(dtype=float)
    b = old.to_numpy(dtype=float)
    rel = np.abs(a - b) / np.where(np.abs(b) > 0, np.abs(b), 1.0)
    differing = int((~np.isclose(a, b, rtol=SAME_RTOL, atol=SAME_ATOL)).any(axis=1).sum())
    if not differing:
        return Overlap(len(old), 0, 0.0, "")
    row, col = (int(i) for i in np.unravel_index(int(np.argmax(rel)), rel.shape))  # the first largest, row by row
    return Overlap(len(old), differing, float(rel[row, col]), f"{PRICE_COLUMNS[col]} on {old.index[row]}")


def upsert_prices(session: Session, ticker: str, frame: pd.DataFrame, source: str, now: datetime) -> int:
    """Write rows, replacing any stored row on the same date (a re-basing only when every stored day is
    rewritten by one factor), and score the ledger in the same transaction."""
    _record_if_rebased(session, ticker, frame, now)
    dates = [ts.date() for ts in frame.index]
    for i in range(0, len(dates), 500):  # keep the IN list well under driver limits
        session.execute(delete(Price).where(Price.ticker == ticker, Price.date.in_(dates[i : i + 500])))
    return insert_prices(session, ticker, frame, source, now)


@dataclass(frozen=True)
class TickerSummary:
    """What is stored for one ticker: its range, row count, where rows came from, how fresh."""

    ticker: str
    first_date: date
    last_date: date
    rows: int
    sources: list[str]  # most rows first
    latest_source: str  # where the newest day came from
    last_fetched_at: datetime
    home_source: str = ""  # the source the ticker keeps: its oldest row's (home_source below)

    def source_line(self) -> str:
        """The source the ticker keeps, then how many other sources wrote days (not their ~250 file names)."""
        others = len([s for s in self.sources if s != self.home_source])
        return self.home_source + (f" (+{others} other source{'s' if others > 1 else ''})" if others else "")

    def as_json(self) -> dict[str, str | int | list[str]]:
        return {
            "ticker": self.ticker,
            "first_date": self.first_date.isoformat(),
            "last_date": self.last_date.isoformat(),
            "rows": self.rows,
            "source": self.home_source,
            "sources": self.sources,
            "last_fetched_at": self.last_fetched_at.isoformat(),
        }


def price_summaries(engine: Engine, ticker: str | None = None) -> list[TickerSummary]:
    """One line per stored ticker (or for ``ticker`` alone), in ticker order."""
    mine = [] if ticker is None else [Price.ticker == ticker]
    newest = select(Price.ticker, func.max(Price.date).label("day")).where(*mine).group_by(Price.ticker).subquery()
    with engine.connect() as conn:
        ranges = conn.execute(
            select(Price.ticker, func.min(Price.date), func.max(Price.date), func.count(), func.max(Price.fetched_at))
            .where(*mine)
            .group_by(Price.ticker)
            .order_by(Price.ticker)
        ).all()
        sources = conn.execute(
            select(Price.ticker, Price.source, func.count()).where(*mine).group_by(Price.ticker, Price.source)
        ).all()
        latest = dict(conn.execute(
            select(Price.ticker, func.min(Price.source))
            .join(newest, and_(Price.ticker == newest.c.ticker, Price.date == newest.c.day))
            .group_by(Price.ticker)
        ).tuples().all())
        oldest = select(Price.ticker, func.min(Price.date).label("day")).where(*mine).group_by(Price.ticker).subquery()
        home = dict(conn.execute(
            select(Price.ticker, func.min(Price.source))
            .join(oldest, and_(Price.ticker == oldest.c.ticker, Price.date == oldest.c.day))
            .group_by(Price.ticker)
        ).tuples().all())
    by_ticker: dict[str, list[tuple[int, str]]] = {}
    for name, source, n in sources:
        by_ticker.setdefault(name, []).append((n, source))
    return [
        TickerSummary(
            ticker=t,
            first_date=first,
            last_date=last,
            rows=n,
            sources=[s for _, s in sorted(by_ticker.get(t, []), reverse=True)],
            latest_source=latest[t],
            last_fetched_at=fetched,
            home_source=home[t],
        )
        for t, first, last, n, fetched in ranges
    ]


def price_summary(engine: Engine, ticker: str) -> TickerSummary | None:
    """The :class:`TickerSummary` of ``ticker``, or None when it has no prices."""
    return next(iter(price_summaries(engine, ticker)), None)


def source_family(name: str) -> str:
    """``csv`` for every imported file (``csv:<file>``), else the source's own name."""
    return "csv" if name.startswith("csv:") else name


def home_source(engine: Engine, ticker: str) -> str | None:
    """The source a ticker's history came from: that of its oldest stored row (None: no rows)."""
    with engine.connect() as conn:
        return conn.execute(select(Price.source).where(Price.ticker == ticker)
                            .order_by(Price.date).limit(1)).scalar()
