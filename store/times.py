"""Times as the store keeps them: timezone-aware UTC.

SQLite hands back naive datetimes (in UTC, as every writer converts first) and
Postgres aware ones; every comparison of stored times goes through :func:`as_utc`.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, String, func, select
from sqlalchemy.sql.elements import ColumnElement


def as_utc(dt: datetime) -> datetime:
    """``dt`` as an aware UTC datetime (a naive one is taken to be UTC already)."""
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def utc_now() -> datetime:
    """The wall clock, aware UTC: the default ``now`` of every context that takes a clock."""
    return datetime.now(timezone.utc)


# --- the database's clock --------------------------------------------------------------
# Leases, heartbeats and dead-run staleness are decided against ONE clock shared by every
# process and machine: the database's. A process whose own clock runs ahead or behind must
# neither take over a live lease nor fail a live run, so those writes and comparisons use
# these SQL expressions instead of a ``now`` computed in Python.

_SQLITE_FORMAT = "%Y-%m-%d %H:%M:%f"  # SS.SSS; "000" appended gives SQLAlchemy's stored form


def db_now_expr(dialect: str, offset_s: float = 0.0) -> ColumnElement[Any]:
    """SQL for the database's current UTC time plus ``offset_s`` seconds, comparable with (and
    storable in) a ``DateTime(timezone=True)`` column: SQLite's ``'now'`` as the text SQLAlchemy
    stores (``YYYY-MM-DD HH:MM:SS.ffffff``), Postgres' ``clock_timestamp()`` (the time of the
    statement, not of the transaction's start)."""
    if dialect == "sqlite":
        return func.strftime(_SQLITE_FORMAT, "now", f"{offset_s:+.3f} seconds", type_=String()).concat("000")
    now = func.clock_timestamp(type_=DateTime(timezone=True))
    return now + timedelta(seconds=offset_s) if offset_s else now


def read_db_now(conn: Connection) -> datetime:
    """The database's current time, aware UTC (for showing ages and for ``runs.is_stale``)."""
    value = conn.execute(select(db_now_expr(conn.dialect.name))).scalar_one()
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def db_now(engine: Engine) -> datetime:
    """``read_db_now`` on a connection of its own."""
    with engine.connect() as conn:
        return read_db_now(conn)
