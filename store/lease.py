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

Times are UTC; SQLite stores them as naive text, which compares correctly as long
as every writer converts to UTC first (``store.times.as_utc``).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import Engine, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from contract.errors import Refusal
from store.tables import Lease, Run
from store.times import as_utc

log = logging.getLogger(__name__)

TRAINING_LEASE = "training"  # prefix: the lease of a ticker is training_lease(ticker)


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


def new_holder_id() -> str:
    """Who holds the lease: host, process and a random part (two leases in one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _info(row: Row[Any]) -> LeaseInfo:
    return LeaseInfo(row.name, row.holder, row.run_id, as_utc(row.acquired_at), as_utc(row.expires_at))


def current_lease(engine: Engine, name: str, now: datetime | None = None) -> LeaseInfo | None:
    """The lease row, or None; with ``now``, None also when it has expired."""
    with engine.connect() as conn:
        row = conn.execute(select(Lease).where(Lease.name == name)).first()
    if row is None:
        return None
    info = _info(row)
    if now is not None and info.expires_at <= as_utc(now):
        return None
    return info


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


def _wait_for_run_id(engine: Engine, info: LeaseInfo, now: datetime, wait_s: float = RUN_ID_WAIT_S) -> LeaseInfo:
    """A winner records its run id a moment after taking the lease; if it took it just now,
    wait briefly for the id so the refusal can name the run rather than just a process."""
    if (now - info.acquired_at).total_seconds() > wait_s:
        return info
    deadline = time.monotonic() + wait_s
    while info.run_id is None and time.monotonic() < deadline:
        time.sleep(0.05)
        info = current_lease(engine, info.name) or info
    return info


def acquire(
    engine: Engine,
    *,
    holder: str,
    now: datetime,
    ttl_s: float,
    name: str,
    run_id: int | None = None,
) -> LeaseInfo:
    """Take the lease or raise LeaseBusy naming the live holder."""
    now = as_utc(now)
    expires = now + timedelta(seconds=ttl_s)
    values: dict[str, Any] = dict(holder=holder, run_id=run_id, acquired_at=now, expires_at=expires)
    held = LeaseInfo(name, holder, run_id, now, expires)
    for _attempt in range(3):
        try:
            with engine.begin() as conn:
                conn.execute(insert(Lease).values(name=name, **values))
            return held
        except IntegrityError:
            pass  # the row exists: take it over only if it has expired
        with engine.begin() as conn:
            taken = conn.execute(
                update(Lease).where(Lease.name == name, Lease.expires_at <= now).values(**values)
            ).rowcount
        if taken == 1:
            log.warning("took over the expired %r lease", name)
            return held
        info = current_lease(engine, name)
        if info is not None:
            info = _wait_for_run_id(engine, info, now)
            raise LeaseBusy(busy_message(engine, info), info)
        # released between our two statements: try again
    raise LeaseBusy(f"could not take the {name!r} lease (it changed hands repeatedly); try again", None)  # type: ignore[arg-type]


def renew(engine: Engine, *, holder: str, now: datetime, ttl_s: float, name: str) -> bool:
    """Push our expiry forward; False if we no longer hold the lease (it expired and was taken)."""
    now = as_utc(now)
    with engine.begin() as conn:
        n = conn.execute(
            update(Lease)
            .where(Lease.name == name, Lease.holder == holder)
            .values(expires_at=now + timedelta(seconds=ttl_s))
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
    """Renews a held lease from a background thread until stopped.

    A thread rather than renewing from progress callbacks alone, because some steps
    (importing TensorFlow, saving a model) report no progress for many seconds.
    ``lost`` turns True if a renewal finds the lease gone; the run should then stop.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        holder: str,
        ttl_s: float,
        now: Callable[[], datetime],
        name: str,
        on_beat: Callable[[datetime], None] | None = None,
    ):
        self.engine, self.holder, self.ttl_s, self.now, self.name = engine, holder, ttl_s, now, name
        self.on_beat = on_beat
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
                now = self.now()
                if not renew(self.engine, holder=self.holder, now=now, ttl_s=self.ttl_s, name=self.name):
                    self.lost = True
                    log.error("lost the %r lease (expired and taken over); stopping the run", self.name)
                    return
                if self.on_beat is not None:
                    self.on_beat(now)
            except Exception as exc:  # a database blip: keep trying until the lease really expires
                from store.db import short_error

                log.warning("could not renew the %r lease (retrying): %s", self.name, short_error(exc))

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
