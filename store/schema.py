"""Schema migrations (Alembic): one way to bring any store to the schema this code expects.

``upgrade(engine)`` is what ``python -m jobs migrate`` (the Procfile ``release:`` step) runs, and
what every process runs at start through ``store.db.create_schema``:

- an empty store is built from the models (``create_all``) and stamped at the newest revision:
  replaying every revision to reach the same tables would only be slower;
- a store made before migrations existed (tables, no ``alembic_version``) is stamped at the
  baseline revision, the schema every such store has, then upgraded;
- any other store is upgraded from the revision it records.

Several processes may start on one store at once (the clock, the web's workers, a release
step): the work runs under a lock - a Postgres advisory lock, or an exclusive lock on a file
beside the SQLite database - and a store already at the newest revision takes no lock at all.
Within one process, Alembic's ``op`` and ``context`` are module globals that each run points at
its own connection, so two threads migrating at once - even two different stores - would send one
run's statements down the other's connection: every run also takes ``alembic_turn()``.
"""
from __future__ import annotations

import contextlib
import fcntl
import threading
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from store.tables import Base

BASELINE = "0001"  # the schema of every store made before migrations (version 2 of the product)
_PG_LOCK_KEY = 0x5F0F_0A11  # any constant: the advisory lock that serialises migrations on Postgres
_ALEMBIC_TURN = threading.Lock()  # Alembic's op/context proxies are process-wide (see the module doc)


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "store/migrations/versions holds no revision"
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the store records, or None (an empty store, or one older than migrations)."""
    return MigrationContext.configure(connection).get_current_revision()


@contextlib.contextmanager
def alembic_turn() -> Iterator[None]:
    """This process's one Alembic run at a time: hold it around any ``alembic.command`` call."""
    with _ALEMBIC_TURN:
        yield


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    try:
        handle = open(f"{database}.migrate-lock", "a+b")
    except OSError:  # a read-only folder: nothing can be migrated there, and the write will say so
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(engine: Engine) -> str:
    """Bring the store to the newest revision; returns what was done, in a few words."""
    head = head_revision()
    with engine.connect() as conn:
        if current_revision(conn) == head:
            return f"already at revision {head}"
    with alembic_turn(), _migration_lock(engine):
        with engine.begin() as conn:
            found = current_revision(conn)
            if found == head:  # another process finished while this one waited for the lock
                return f"already at revision {head}"
            if found is None and not inspect(conn).get_table_names():
                Base.metadata.create_all(conn)
                command.stamp(_config(conn), head)
                return f"created the schema at revision {head}"
            if found is None:
                command.stamp(_config(conn), BASELINE)
            command.upgrade(_config(conn), head)
            return f"upgraded from revision {found or BASELINE + ' (a store made before migrations)'} to {head}"
