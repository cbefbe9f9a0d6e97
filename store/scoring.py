"""Scoring the forecast ledger, inside whatever transaction writes prices, and the record of re-basings.

Every price write (``store.prices``: a fetch, a CSV import from the command line or the
admin page, a replay) calls :func:`score_pending_in` on its own connection before it
commits, so the rows a new close settles are scored in the same transaction.

The actual of a row is the stored close of its target date, on the basis the row was
published on. A correction of single days is not a re-basing: it changes the closes of
those days and nothing else. A re-basing (a split or dividend refetch) is recorded only
when every stored day is rewritten by one factor (:func:`uniform_factor`), as a
``PriceRebasing`` row; a ledger row keeps the id of the newest re-basing it was
published after (``basis``), so a row published before a split is scored on its own
basis: ``actual = close(target) * cumulative(row basis) / cumulative(newest)``.

Only tables are imported here (``store.prices`` and ``store.ledger`` both use this module).
"""
from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import Connection, case, func, insert, select, update

from store.tables import Base, LedgerEntry, Price, PriceRebasing

# Yahoo rounds adjusted prices: ratios within this of one another are one factor (the overlap check's tolerance).
FACTOR_RTOL = 5e-4
MIN_REBASE_DAYS = 2  # one day rewritten is a correction, whatever its ratio


def uniform_factor(old: np.ndarray, new: np.ndarray) -> float | None:
    """The one factor ``new / old`` shares on every day, when it is not 1; None otherwise."""
    if len(old) < MIN_REBASE_DAYS or len(old) != len(new) or (old <= 0).any() or (new <= 0).any():
        return None
    ratios = new / old
    factor = float(np.median(ratios))
    if abs(factor - 1.0) <= FACTOR_RTOL or not np.allclose(ratios, factor, rtol=FACTOR_RTOL, atol=0):
        return None
    return factor


def newest_basis(conn: Connection, ticker: str) -> tuple[int | None, float]:
    """(id, cumulative factor) of the newest re-basing of ``ticker``; (None, 1.0) when there was none."""
    row = conn.execute(select(PriceRebasing.id, PriceRebasing.cumulative).where(PriceRebasing.ticker == ticker)
                       .order_by(PriceRebasing.id.desc()).limit(1)).first()
    return (None, 1.0) if row is None else (int(row[0]), float(row[1]))


def record_rebasing(conn: Connection, ticker: str, factor: float, days: int, now: datetime) -> int:
    """Append a re-basing of ``ticker`` by ``factor`` (measured on ``days`` stored days); returns its id."""
    _, cumulative = newest_basis(conn, ticker)
    return int(conn.execute(insert(PriceRebasing).values(
        ticker=ticker, factor=factor, cumulative=cumulative * factor, days=days, at=now)
        .returning(PriceRebasing.id)).scalar_one())


def score_pending_in(conn: Connection, ticker: str, now: datetime) -> int:
    """Score, on ``conn`` (the caller's transaction), every unscored row whose target close is stored.

    One UPDATE guarded by ``actual IS NULL``: a row is scored exactly once even when two
    processes score at once, and a scored row is never written again. A close that is
    not positive is never used (the price store refuses one; this is the last guard).
    """
    newest_id, newest = newest_basis(conn, ticker)
    ledger = Base.metadata.tables[LedgerEntry.__tablename__]  # a Table, which update() accepts
    target = Price.__table__.alias("target")
    basis = PriceRebasing.__table__.alias("basis")
    target_close = (select(target.c.close)
                    .where(target.c.ticker == ledger.c.ticker, target.c.date == ledger.c.target_date)
                    .scalar_subquery())
    published_basis = select(basis.c.cumulative).where(basis.c.id == ledger.c.basis).scalar_subquery()
    # Exactly the stored close unless the history was re-based since the row was published.
    rebased = conn.execute(select(PriceRebasing.id).where(PriceRebasing.ticker == ticker).limit(1)).first()
    # A row published on the newest basis takes the stored close itself, not close * C / C (the last bit).
    actual = target_close if rebased is None else case(
        (ledger.c.basis == newest_id, target_close),
        else_=target_close * func.coalesce(published_basis, 1.0) / newest)
    stmt = (
        update(ledger)
        .where(ledger.c.ticker == ticker, ledger.c.actual.is_(None), target_close > 0)
        .values(actual=actual, persistence=ledger.c.origin_close, scored_at=now)
    )
    return conn.execute(stmt).rowcount
