"""An expiring lease row: at most one holder of a named lease at a time across every
process and machine that shares the database.

Training takes ``training_lease(ticker)`` (``training:AAPL``): one training of a
ticker at a time everywhere, while different tickers (one Celery task per ticker
on several workers) train in parallel.

Works the same on SQLite and Postgres, with no server-side locking feature:

- acquire = INSERT the row (the primary key makes a second insert fail), else
  UPDATE it only WHERE it has expired (a takeover). Both statements are atomic
  on their own: Postgres blocks a concurrent insert of the same key until the
  first commits and re-checks the WHERE of a concurrent UPDATE; SQLite has one
  writer at a time. So exactly one of any number of racing callers wins.
- the holder renews (heartbeat) while it works; a process killed with ``kill -9``
  stops renewing and its lease can be taken over once ``expires_at`` passes.
- release deletes the row, only if we still hold it.

One clock decides: the database's (``store.times.db_now_expr``). ``acquired_at`` and
``expires_at`` are written from it and "expired?" is a comparison inside the statement,
so a process whose own clock runs ahead can neither take over a live lease nor see
one as free, and a process whose clock runs behind cannot keep a dead one alive.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from contract.errors import Refusal
from store.tables import Lease, Run
from store.times import as_utc, db_now_expr, read_db_now

log = logging.getLogger(__name__)

TRAINING_LEASE = "training"  # prefix: the lease of a ticker is training_lease(ticker)
CLOCK_LEASE = "clock"  # held by the one clock process while it runs (jobs.clock)


def training_lease(ticker: str) -> str:
    """Name of the lease that guards training of one ticker."""
    return f"{TRAINING_LEASE}:{ticker.strip().upper()}"


class LeaseBusy(Refusal):
    """Someone else holds a live lease; the message names their run and its start."""

    def __init__(self, message: str, current: "LeaseInfo"):
        super().__init__(message)
        self.current = current


@dataclass(frozen=True)
class LeaseInfo:
    name: str
    holder: str
    run_id: int | None
    acquired_at: datetime
    expires_at: datetime
    read_at: datetime | None = None  # the database's time when this was read

    @property
    def seconds_left(self) -> float:
        """Seconds until it expires, by the database's clock (0 when it has)."""
        assert self.read_at is not None  # every LeaseInfo from current_lease has it
        return max(0.0, (self.expires_at - self.read_at).total_seconds())


def new_holder_id() -> str:
    """Who holds the lease: host, process and a random part (two leases in one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def current_lease(engine: Engine, name: str, *, live: bool = False) -> LeaseInfo | None:
    """The lease row (with the database's time it was read at), or None; with ``live``,
    None also when it has expired by the database's clock."""
    with engine.connect() as conn:
        stmt = select(Lease).where(Lease.name == name)
        if live:
            stmt = stmt.where(Lease.expires_at > db_now_expr(conn.dialect.name))
        row = conn.execute(stmt).first()
        if row is None:
            return None
        return LeaseInfo(row.name, row.holder, row.run_id, as_utc(row.acquired_at), as_utc(row.expires_at),
                         read_at=read_db_now(conn))


def busy_message(engine: Engine, info: LeaseInfo) -> str:
    """One line naming the run in progress and when it started."""
    run = None
    if info.run_id is not None:
        with engine.connect() as conn:
            run = conn.execute(select(Run).where(Run.id == info.run_id)).first()
    if run is not None:
        started = as_utc(run.started_at).strftime("%Y-%m-%d %H:%M:%S UTC")
        return (
            f"another training run is in progress: run #{run.id} ({run.trigger} {run.action} "
            f"requested by {run.requested_by}) of {run.ticker} started {started}; try again when it has finished"
        )
    started = info.acquired_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"another training run is starting (held by {info.holder} since {started}); try again when it has finished"


RUN_ID_WAIT_S = 2.0


def _wait_for_run_id(engine: Engine, info: LeaseInfo, wait_s: float = RUN_ID_WAIT_S) -> LeaseInfo:
    """A winner records its run id a moment after taking the lease; if it took it just now,
    wait briefly for the id so the refusal can name the run rather than just a process."""
    if info.name == CLOCK_LEASE:  # names a process, never a run
        return info
    if info.read_at is None or (info.read_at - info.acquired_at).total_seconds() > wait_s:
        return info
    deadline = time.monotonic() + wait_s
    while info.run_id is None and time.monotonic() < deadline:
        time.sleep(0.05)
        info = current_lease(engine, info.name) or info
    return info


def acquire(engine: Engine, *, holder: str, ttl_s: float, name: str, run_id: int | None = None) -> LeaseInfo:
    """Take the lease or raise LeaseBusy naming the live holder. Its times are the database's."""
    dialect = engine.dialect.name
    values: dict[str, Any] = dict(holder=holder, run_id=run_id, acquired_at=db_now_expr(dialect),
                                  expires_at=db_now_expr(dialect, ttl_s))
    for _attempt in range(3):
        try:
            with engine.begin() as conn:
                conn.execute(insert(Lease).values(name=name, **values))
            return _held(engine, name, holder)
        except IntegrityError:
            pass  # the row exists: take it over only if it has expired
        with engine.begin() as conn:
            taken = conn.execute(
                update(Lease).where(Lease.name == name, Lease.expires_at <= db_now_expr(dialect)).values(**values)
            ).rowcount
        if taken == 1:
            log.warning("took over the expired %r lease", name)
            return _held(engine, name, holder)
        info = current_lease(engine, name)
        if info is not None:
            info = _wait_for_run_id(engine, info)
            raise LeaseBusy(busy_message(engine, info), info)
        # released between our two statements: try again
    raise LeaseBusy(f"could not take the {name!r} lease (it changed hands repeatedly); try again", None)  # type: ignore[arg-type]


def _held(engine: Engine, name: str, holder: str) -> LeaseInfo:
    """The lease just taken, as stored (its times come from the database)."""
    info = current_lease(engine, name)
    if info is None or info.holder != holder:  # only if it expired at once (a TTL shorter than this read)
        raise LeaseBusy(f"the {name!r} lease was lost as soon as it was taken; try again", info)  # type: ignore[arg-type]
    return info


def renew(engine: Engine, *, holder: str, ttl_s: float, name: str) -> bool:
    """Push our expiry to ``ttl_s`` from now by the database's clock; False if we no longer
    hold the lease (it expired and was taken)."""
    with engine.begin() as conn:
        n = conn.execute(
            update(Lease)
            .where(Lease.name == name, Lease.holder == holder)
            .values(expires_at=db_now_expr(conn.dialect.name, ttl_s))
        ).rowcount
    return n == 1


def attach_run(engine: Engine, *, holder: str, run_id: int, name: str) -> None:
    """Record which run the lease guards, so a refused caller can be told."""
    with engine.begin() as conn:
        conn.execute(update(Lease).where(Lease.name == name, Lease.holder == holder).values(run_id=run_id))


def release(engine: Engine, *, holder: str, name: str) -> bool:
    """Give the lease back; False if it was no longer ours."""
    with engine.begin() as conn:
        return conn.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder)).rowcount == 1


class LeaseKeeper:
    """Renews a held lease from a background thread until stopped (every ``ttl_s / 4``).

    A thread rather than renewing from progress callbacks alone, because some steps
    (importing TensorFlow, saving a model) report no progress for many seconds.
    ``lost`` turns True (and ``on_lost`` is called) if a renewal finds the lease gone; the
    holder should then stop.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        holder: str,
        ttl_s: float,
        name: str,
        on_beat: Callable[[], None] | None = None,
        on_lost: Callable[[], None] | None = None,
    ):
        self.engine, self.holder, self.ttl_s, self.name = engine, holder, ttl_s, name
        self.on_beat, self.on_lost = on_beat, on_lost
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"lease-{name}", daemon=True)

    def start(self) -> "LeaseKeeper":
        self._thread.start()
        return self

    def _loop(self) -> None:
        interval = max(0.5, self.ttl_s / 4)
        while not self._stop.wait(interval):
            try:
                if not renew(self.engine, holder=self.holder, ttl_s=self.ttl_s, name=self.name):
                    self.lost = True
                    log.error("lost the %r lease (expired and taken over); stopping", self.name)
                    if self.on_lost is not None:
                        self.on_lost()
                    return
                if self.on_beat is not None:
                    self.on_beat()
            except Exception as exc:  # a database blip: keep trying until the lease really expires
                from store.db import short_error

                log.warning("could not renew the %r lease (retrying): %s", self.name, short_error(exc))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
