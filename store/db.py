"""Engine creation and schema management (SQLite by default, Postgres in production)."""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from contract.errors import Failure
from config.settings import normalize_database_url

log = logging.getLogger(__name__)
T = TypeVar("T")

STORE_RETRY_S = 60.0  # how long a must-land write keeps retrying through a database outage


class StoreUnavailable(Failure):
    """The database stayed unreachable for the whole retry budget; the message is one line."""


class StoreError(Failure):
    """A database problem no retry fixes (missing database, unknown role, read-only file,
    a folder that cannot be created); the message is one line naming the store."""


# What SQLAlchemy raises when the store refuses (read-only, missing database or role) or is gone.
STORE_FAILURES = (OperationalError, InterfaceError)

# Operational errors that are the configuration's fault, not an outage: retrying them
# for STORE_RETRY_SECONDS would only delay the same answer (and call it "unreachable").
_PERMANENT = (
    ("readonly database", "is read-only"),
    ("read-only", "is read-only"),
    ("unable to open database file", "cannot be opened or created (check the folder exists and is writable)"),
    # A full disk (SQLite's SQLITE_FULL, Postgres' ENOSPC) stays full until someone frees space.
    ("database or disk is full", "is full: its disk has no space left"),
    ("no space left on device", "is full: its disk has no space left"),
    ("disk i/o error", "cannot be written: disk I/O error (is its disk full?)"),  # SQLite, no room for its -shm
    ("does not exist", None),
    ("password authentication failed", None),
    ("no password supplied", None),
    ("permission denied", None),
)


def _permanent_reason(exc: BaseException) -> tuple[str, str | None] | None:
    text = str(getattr(exc, "orig", None) or exc).lower()
    return next((p for p in _PERMANENT if p[0] in text), None)


def is_outage(exc: BaseException) -> bool:
    """True for errors a database restart or network blip produces (worth retrying),
    False for errors in what we asked (constraint, syntax) or in the configuration
    (read-only file, missing database or role), which a retry would repeat."""
    if isinstance(exc, STORE_FAILURES):
        return _permanent_reason(exc) is None
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def store_name(url: str) -> str:
    """Where the store is, for messages: the SQLite file, or host:port/database (no password)."""
    from sqlalchemy.engine import make_url

    try:
        u = make_url(normalize_database_url(url))
    except Exception:
        return "the DATABASE_URL store"
    if u.get_backend_name() == "sqlite":
        return f"SQLite file {u.database}" if u.database else "in-memory SQLite"
    return f"{u.get_backend_name()} {u.host or 'localhost'}:{u.port or 5432}/{u.database}"


def describe_store_error(exc: BaseException, url: str) -> str:
    """One line for a database error: which store, and what is wrong with it."""
    first = short_error(exc).split(": ", 1)[-1]
    first = first.replace("connection failed: ", "").replace("FATAL:  ", "")
    where = store_name(url)
    permanent = _permanent_reason(exc)
    if permanent and permanent[1]:
        return f"{where} {permanent[1]} ({first})"
    if permanent:
        return f"{where}: {first}"
    return f"database unreachable ({where}): {first}"


@contextmanager
def store_failures_as_errors(url: str | Callable[[], str]) -> Iterator[None]:
    """Inside, a database error (``STORE_FAILURES``) becomes a StoreError whose one-line message
    says which store and what is wrong (``describe_store_error``). ``url`` may be a callable,
    read only when an error needs it."""
    try:
        yield
    except STORE_FAILURES as exc:
        raise StoreError(describe_store_error(exc, url() if callable(url) else url)) from None


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
        folder = Path(url[len("sqlite:///"):].split("?", 1)[0]).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # DATA_DIR unwritable, or a file where the folder should be
            raise StoreError(f"cannot create the folder {folder} of the SQLite store "
                             f"(check DATA_DIR / DATABASE_URL): {exc.strerror}") from None
    if url.startswith("sqlite"):
        # A 30 s busy timeout lets a second process wait for a writer instead of
        # failing at once with "database is locked".
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: object) -> None:  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    # A bounded connect timeout (unless the URL sets one): a firewalled host gives one
    # error line after 10 s, not a hang.
    from sqlalchemy.engine import make_url

    args = {} if "connect_timeout" in make_url(url).query else {"connect_timeout": 10}
    return create_engine(url, pool_pre_ping=True, connect_args=args)


def create_schema(engine: Engine) -> None:
    """Bring the store to the schema this code expects (``store.schema.upgrade``); safe to run
    any number of times, and from several processes at once (they take turns under a lock)."""
    from store.schema import upgrade  # Alembic is imported only by processes that migrate

    upgrade(engine)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def serialized_write(engine: Engine) -> Iterator[Session]:
    """One transaction (a session) that holds the store's write lock from its first statement,
    so what it reads stays true until it commits (a compare-and-set).

    SQLite: ``BEGIN IMMEDIATE`` (a second writer waits for the busy timeout; a plain
    deferred transaction would read first and only then queue for the lock). Postgres: an
    ordinary transaction; the caller locks the rows it reads with ``FOR UPDATE``.
    """
    with session_factory(engine).begin() as session:
        if engine.dialect.name == "sqlite":
            session.execute(text("BEGIN IMMEDIATE"))
        yield session
