"""Importing a price file that may correct stored days: the one write the command line's
``import-csv [--replace]`` and the admin page's CSV import share.

A stored day the file gives other prices for is refused unless the caller names who replaces
it; a replacement records each day's old row in ``price_deletions`` (who, when, the row as it
was; the new row is the one stored from the file's source at the same time), all in the
caller's transaction, so nothing is written when anything is refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from contract.errors import Refusal
from marketdata.frames import PRICE_COLUMNS
from store.prices import SAME_ATOL, SAME_RTOL, Overlap, compare_with_stored, upsert_prices
from store.tables import Price, PriceDeletion

WHO_LEN = 64  # PriceDeletion.deleted_by


class ChangedDays(Refusal):
    """The file gives other prices for stored days and no replacement was asked for; nothing written."""


class ReplacementChanged(Refusal):
    """The days that would be replaced are not the ones confirmed (the store changed meanwhile)."""


@dataclass(frozen=True)
class Replacement:
    """Permission to replace stored days the file changes: who replaces them, and (when a person
    confirmed a count after a preview) how many days they confirmed."""

    by: str  # recorded in price_deletions.deleted_by: web:<admin>, cli:<user>
    confirmed_days: int | None = None


@dataclass(frozen=True)
class PriceChange:
    """One stored value the file would change."""

    day: date
    column: str  # open | high | low | close | volume
    old: float
    new: float

    @property
    def rel_change(self) -> float:
        return (self.new - self.old) / self.old if self.old else float("inf")


@dataclass(frozen=True)
class ImportOutcome:
    written: int  # rows written (new and replaced)
    overlap: Overlap  # how the file compared with the store before the write
    replaced: tuple[date, ...]  # the stored days whose values changed, oldest first
    record_ids: tuple[int, ...]  # their price_deletions rows (old values), one per replaced day

    @property
    def new_rows(self) -> int:
        return self.written - self.overlap.rows


def _stored(session: Session, ticker: str, days: list[date]) -> list[Price]:
    rows: list[Price] = []
    for i in range(0, len(days), 500):  # keep the IN list well under driver limits
        rows += session.execute(select(Price).where(Price.ticker == ticker, Price.date.in_(days[i : i + 500]))
                                .order_by(Price.date)).scalars().all()
    return rows


def stored_days(session: Session, ticker: str, frame: pd.DataFrame) -> list[date]:
    """The days of ``frame`` already stored for ``ticker``."""
    days = [ts.date() for ts in frame.index]
    found: list[date] = []
    for i in range(0, len(days), 500):
        found += session.execute(select(Price.date).where(Price.ticker == ticker,
                                                          Price.date.in_(days[i : i + 500]))).scalars().all()
    return found


def price_changes(session: Session, ticker: str, frame: pd.DataFrame) -> list[PriceChange]:
    """Every (day, column) whose stored value the file changes beyond float noise, oldest day first."""
    changes: list[PriceChange] = []
    for row in _stored(session, ticker, [ts.date() for ts in frame.index]):
        new = frame.loc[pd.Timestamp(row.date), PRICE_COLUMNS].to_numpy(dtype=float)
        for column, value in zip(PRICE_COLUMNS, new):
            old = float(getattr(row, column))
            if not np.isclose(value, old, rtol=SAME_RTOL, atol=SAME_ATOL):
                changes.append(PriceChange(row.date, column, old, float(value)))
    return changes


def refusal_text(name: str, ticker: str, overlap: Overlap) -> str:
    return (f"{name}: {overlap.differing} of {overlap.rows} rows already stored for {ticker} differ, "
            f"by up to {overlap.max_rel_diff:.2%} ({overlap.worst}); nothing imported")


def import_prices(session: Session, ticker: str, frame: pd.DataFrame, name: str, now: datetime,
                  replacement: Replacement | None = None) -> ImportOutcome:
    """Write ``frame`` (from file ``name``) in ``session``'s transaction, scoring the ledger as every price
    write does. Stored days it changes: ChangedDays unless a ``replacement`` names who replaces them; then
    each old row is recorded in ``price_deletions``. A confirmed count other than the days that would
    change is ReplacementChanged. A refusal raises before anything is written."""
    overlap = compare_with_stored(session, ticker, frame)
    if overlap.differing and replacement is None:
        raise ChangedDays(refusal_text(name, ticker, overlap))
    expected = replacement.confirmed_days if replacement else None
    if expected is not None and overlap.differing != expected:
        raise ReplacementChanged(f"{name}: {overlap.differing} stored days of {ticker} would change now, not the "
                                 f"{expected} confirmed (the store changed since the preview); nothing imported, "
                                 "upload the file again")
    changed = sorted({c.day for c in price_changes(session, ticker, frame)}) if overlap.differing else []
    who = f"{replacement.by} via csv:{name}" if replacement else ""
    records = [_record(row, who, now) for row in _stored(session, ticker, changed)]
    session.add_all(records)
    session.flush()
    written = upsert_prices(session, ticker, frame, f"csv:{name}", now)
    return ImportOutcome(written, overlap, tuple(changed), tuple(r.id for r in records))


def _record(row: Price, who: str, now: datetime) -> PriceDeletion:
    return PriceDeletion(ticker=row.ticker, date=row.date, open=row.open, high=row.high, low=row.low, close=row.close,
                         volume=row.volume, source=row.source, fetched_at=row.fetched_at, deleted_by=who[:WHO_LEN],
                         deleted_at=now)


def days_text(days: tuple[date, ...] | list[date], shown: int = 5) -> str:
    """'2024-01-04, 2024-01-05' or '2024-01-04, ... and 7 more'."""
    listed = ", ".join(str(d) for d in days[:shown])
    return listed + (f" and {len(days) - shown} more" if len(days) > shown else "")
