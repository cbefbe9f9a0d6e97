"""A cooperative deadline for store reads: the work of a request stops when its time is up.

The web gives every request a deadline (``running(seconds)``, a context variable, so each
thread of a threaded worker has its own). On an engine prepared with :func:`install`:

- every statement checks it first and raises :class:`DeadlineExceeded` once it has passed;
- a statement already running is stopped at the deadline by the database itself: Postgres
  gets ``SET LOCAL statement_timeout`` (the time left) in the statement's transaction,
  SQLite a progress handler that interrupts the query and a busy timeout no longer than
  the time left (a read waiting for a lock gives up too);
- the database's own "cancelled"/"interrupted" error past the deadline is raised as
  :class:`DeadlineExceeded`, never as an outage to retry.

Code outside a deadline (the clock, the CLI, a worker) is unaffected.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

from sqlalchemy import Engine, event

from contract.errors import Failure

SQLITE_BUSY_MS = 30_000  # store.db.make_engine's busy timeout, restored after a deadline
PROGRESS_EVERY = 10_000  # SQLite virtual-machine steps between two deadline checks

_deadline: ContextVar[tuple[float, float] | None] = ContextVar("store_deadline", default=None)


class DeadlineExceeded(Failure):
    """The request's deadline passed; its store work was stopped."""

    def __init__(self, seconds: float):
        super().__init__(f"stopped after its {seconds:g} s deadline")
        self.seconds = seconds


@contextmanager
def running(seconds: float) -> Iterator[None]:
    """Inside: store work on an installed engine stops ``seconds`` from now."""
    token = _deadline.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


@contextmanager
def exempt() -> Iterator[None]:
    """Inside: no deadline. For the few small writes that must complete whatever time is left (the
    login limit's count: a guess whose failure went uncounted because its slot ran late would be free)."""
    token = _deadline.set(None)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline (negative once passed), or None without one."""
    current = _deadline.get()
    return None if current is None else current[0] - time.monotonic()


def check() -> None:
    """Raise DeadlineExceeded when the current deadline has passed (a no-op without one)."""
    current = _deadline.get()
    if current is not None and time.monotonic() >= current[0]:
        raise DeadlineExceeded(current[1])


def _sqlite_progress() -> int:
    """SQLite's progress handler: non-zero interrupts the running statement."""
    current = _deadline.get()
    return int(current is not None and time.monotonic() >= current[0])


def install(engine: Engine) -> Engine:
    """Make every statement on ``engine`` obey the current deadline (see the module docstring)."""
    sqlite = engine.dialect.name == "sqlite"

    if sqlite:
        @event.listens_for(engine, "connect")
        def _progress(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.set_progress_handler(_sqlite_progress, PROGRESS_EVERY)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, *_args: Any) -> None:
        left = remaining()
        if left is None:
            if sqlite and conn.info.pop("deadline_busy", False):
                cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
            return
        check()
        ms = max(1, int(left * 1000))
        if sqlite:
            cursor.execute(f"PRAGMA busy_timeout = {min(ms, SQLITE_BUSY_MS)}")
            conn.info["deadline_busy"] = True
        else:  # lasts until the end of this transaction; statements outside a deadline are unbounded
            cursor.execute(f"SET LOCAL statement_timeout = {ms}")

    @event.listens_for(engine, "handle_error")
    def _stopped(context: Any) -> None:
        current = _deadline.get()
        if current is not None and time.monotonic() >= current[0] - 0.05:
            raise DeadlineExceeded(current[1]) from context.original_exception

    return engine
