"""Engine creation and schema management (SQLite by default, Postgres in production)."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from .config import normalize_database_url
from .tables import Base

log = logging.getLogger(__name__)
T = TypeVar("T")

STORE_RETRY_S = 60.0  # how long a must-land write keeps retrying through a database outage


class StoreUnavailable(RuntimeError):
    """The database stayed unreachable for the whole retry budget; the message is one line."""


def is_outage(exc: BaseException) -> bool:
    """True for errors a database restart or network blip produces (worth retrying),
    False for errors in what we asked (constraint, syntax), which a retry would repeat."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def short_error(exc: BaseException) -> str:
    """First line of a database error, without SQLAlchemy's background link."""
    first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
    return f"{type(exc).__name__}: {first}"


def retry_on_outage(
    fn: Callable[[], T],
    *,
    what: str,
    budget_s: float = STORE_RETRY_S,
    first_wait_s: float = 0.5,
    max_wait_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn`` until it succeeds, retrying database outages with exponential backoff
    for at most ``budget_s`` seconds; then raise StoreUnavailable naming ``what``.

    ``fn`` must be one transaction (all or nothing), so a retry never half-repeats it.
    The engine's ``pool_pre_ping`` replaces connections the outage killed.
    """
    deadline = time.monotonic() + budget_s
    wait = first_wait_s
    attempt = 1
    while True:
        try:
            return fn()
        except Exception as exc:
            if not is_outage(exc):
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise StoreUnavailable(
                    f"database unreachable for {budget_s:.0f}s while {what} ({attempt} attempts): {short_error(exc)}"
                ) from None
            log.warning("database unavailable while %s (attempt %d, retrying in %.1fs): %s",
                        what, attempt, min(wait, left), short_error(exc))
            sleep(min(wait, left))
            wait = min(wait * 2, max_wait_s)
            attempt += 1


def best_effort(fn: Callable[[], T], *, what: str, default: T = None) -> T:  # type: ignore[assignment]
    """Call ``fn``; on a database outage log one warning line and return ``default``.

    For writes that the next one supersedes (progress, heartbeat) and polls that
    are repeated anyway (the cancel flag): a run carries on through a blip.
    """
    try:
        return fn()
    except Exception as exc:
        if not is_outage(exc):
            raise
        log.warning("database unavailable while %s; carrying on: %s", what, short_error(exc))
        return default


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
