"""Removing one stored price day, with a record of who removed what and when (``price_deletions``)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, select

from contract.errors import Refusal
from store.db import session_factory
from store.tables import Price, PriceDeletion

WHO_LEN = 64  # PriceDeletion.deleted_by


class NoSuchPriceDay(Refusal):
    """The day asked for is not stored for that ticker; nothing was removed."""


@dataclass(frozen=True)
class DeletedDay:
    """The removed row as it was, and its record's id."""

    record_id: int
    ticker: str
    day: date
    open: float
    high: float
    low: float
    close: float
    volume: int
    source: str
    deleted_by: str

    def message(self) -> str:
        return (f"{self.ticker}: deleted the prices of {self.day} (open {self.open:g}, high {self.high:g}, "
                f"low {self.low:g}, close {self.close:g}, volume {self.volume}, from {self.source}); "
                f"recorded as price deletion #{self.record_id} by {self.deleted_by}")


def delete_price_day(engine: Engine, ticker: str, day: date, who: str, now: datetime) -> DeletedDay:
    """Remove ``ticker``'s row of ``day`` and record it, in one transaction; NoSuchPriceDay if none.

    The forecast ledger is not touched: rows already scored keep their actual close."""
    with session_factory(engine).begin() as session:
        row = session.execute(
            select(Price).where(Price.ticker == ticker, Price.date == day).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise NoSuchPriceDay(f"{ticker}: no prices stored on {day}; nothing deleted")
        record = PriceDeletion(ticker=row.ticker, date=row.date, open=row.open, high=row.high, low=row.low,
                               close=row.close, volume=row.volume, source=row.source, fetched_at=row.fetched_at,
                               deleted_by=who[:WHO_LEN], deleted_at=now)
        session.add(record)
        session.delete(row)
        session.flush()
        return DeletedDay(record.id, row.ticker, row.date, row.open, row.high, row.low, row.close, row.volume,
                          row.source, record.deleted_by)
