"""Engine creation and schema management (SQLite by default, Postgres in production)."""
from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from .config import normalize_database_url
from .tables import Base


def make_engine(url: str) -> Engine:
    """Create an engine; for SQLite, make the folder and turn on WAL + foreign keys."""
    url = normalize_database_url(url)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        # A 30 s busy timeout lets a second process wait for a writer instead of
        # failing at once with "database is locked".
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def _lost_create_race(exc: Exception) -> bool:
    text = str(exc)
    return "already exists" in text or "pg_type_typname_nsp_index" in text


def create_schema(engine: Engine) -> None:
    """Create every table that does not exist yet; safe to run any number of times.

    Also safe when several processes start on a fresh store at once (the clock, the
    web, a CLI): ``create_all`` checks then creates, so a process that loses the race
    sees "table already exists"; it waits a moment and checks again.
    """
    for attempt in range(5):
        try:
            Base.metadata.create_all(engine)
            return
        except (OperationalError, ProgrammingError, IntegrityError) as exc:
            if attempt == 4 or not _lost_create_race(exc):
                raise
            time.sleep(0.2 * (attempt + 1))


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
