"""Times as the store keeps them: timezone-aware UTC.

SQLite hands back naive datetimes (in UTC, as every writer converts first) and
Postgres aware ones; every comparison of stored times goes through :func:`as_utc`.
"""
from __future__ import annotations

from datetime import datetime, timezone


def as_utc(dt: datetime) -> datetime:
    """``dt`` as an aware UTC datetime (a naive one is taken to be UTC already)."""
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def utc_now() -> datetime:
    """The wall clock, aware UTC: the default ``now`` of every context that takes a clock."""
    return datetime.now(timezone.utc)
