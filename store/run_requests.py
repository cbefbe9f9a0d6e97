"""Requested runs, queued in the store until one executor claims them.

The admin page records a request here in the request that asks for it; the executor
(a Celery worker with ``REDIS_URL``, a background process of the web without) claims
it when it is free to start it. The claim is one conditional UPDATE (``queued`` ->
``claimed``), atomic on SQLite and Postgres alike, so exactly one executor starts a
request however often its message is delivered, replayed or raced; nothing expires
while it waits. A queued request can be cancelled; a claimed one is a run, cancelled
as a run.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy import Engine, Row, func, insert, select, update

from contract.errors import Refusal
from contract.run import RunRequest
from contract.vocab import RequestStatus
from store.tables import RunRequestRecord as Rec
from store.times import as_utc


@dataclass(frozen=True)
class StoredRequest:
    """One row of ``run_requests``; ``request`` is the run as the pipeline takes it."""

    id: int
    request: RunRequest
    requested_at: datetime
    status: RequestStatus
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    finished_at: datetime | None = None
    run_id: int | None = None
    outcome: str | None = None

    @property
    def ticker(self) -> str:
        return self.request.ticker


def _stored(row: Row[Any]) -> StoredRequest:
    def utc(value: datetime | None) -> datetime | None:
        return as_utc(value) if value is not None else None

    return StoredRequest(row.id, RunRequest.from_json(row.request), as_utc(row.requested_at),
                         RequestStatus(row.status), row.claimed_by, utc(row.claimed_at), utc(row.finished_at),
                         row.run_id, row.outcome)


def add(engine: Engine, request: RunRequest, now: datetime) -> int:
    """Queue ``request``; its id. Refused while the ticker already has a queued request
    (one waits per ticker: the queue stays as short as the list of tickers)."""
    try:
        with engine.begin() as conn:
            key = conn.execute(insert(Rec).values(
                ticker=request.ticker, request=request.to_json(), requested_by=request.requested_by[:64],
                requested_at=as_utc(now), status=RequestStatus.QUEUED)).inserted_primary_key
    except IntegrityError:  # uq_run_requests_one_queued: another request of the ticker waits (or won a race)
        with engine.connect() as conn:
            waiting = conn.execute(select(Rec.id).where(Rec.ticker == request.ticker,
                                                        Rec.status == RequestStatus.QUEUED).limit(1)).scalar()
        raise Refusal(f"{request.ticker} request #{waiting} is already queued; wait for it to start or cancel it") from None
    assert key is not None  # an INSERT of one row always has its key
    return int(key[0])


def get(engine: Engine, request_id: int) -> StoredRequest | None:
    with engine.connect() as conn:
        row = conn.execute(select(Rec).where(Rec.id == request_id)).first()
    return None if row is None else _stored(row)


def claim(engine: Engine, request_id: int, claimer: str, now: datetime) -> StoredRequest | None:
    """Take a queued request to run it: the request the first time, None on every later try."""
    with engine.begin() as conn:
        taken = conn.execute(update(Rec).where(Rec.id == request_id, Rec.status == RequestStatus.QUEUED).values(
            status=RequestStatus.CLAIMED, claimed_by=claimer[:128], claimed_at=as_utc(now))).rowcount
    return get(engine, request_id) if taken == 1 else None


def unclaim(engine: Engine, request_id: int, claimer: str) -> bool:
    """Put a claimed request back in the queue (its run could not start: the ticker's lease
    was taken between the look and the claim); only its claimer can."""
    with engine.begin() as conn:
        return conn.execute(update(Rec).where(
            Rec.id == request_id, Rec.status == RequestStatus.CLAIMED, Rec.claimed_by == claimer[:128]).values(
            status=RequestStatus.QUEUED, claimed_by=None, claimed_at=None)).rowcount == 1


def finish(engine: Engine, request_id: int, claimer: str, now: datetime, outcome: str,
           run_id: int | None = None) -> bool:
    """Record how a claimed request ended (one line) and its run; only its claimer can."""
    with engine.begin() as conn:
        return conn.execute(update(Rec).where(
            Rec.id == request_id, Rec.status == RequestStatus.CLAIMED, Rec.claimed_by == claimer[:128]).values(
            status=RequestStatus.ENDED, finished_at=as_utc(now), run_id=run_id,
            outcome=" ".join(outcome.split())[:500])).rowcount == 1


def cancel(engine: Engine, request_id: int, actor: str, now: datetime) -> bool:
    """Cancel a request still waiting; False once an executor has claimed it (or it ended)."""
    with engine.begin() as conn:
        return conn.execute(update(Rec).where(Rec.id == request_id, Rec.status == RequestStatus.QUEUED).values(
            status=RequestStatus.CANCELLED, finished_at=as_utc(now), outcome=f"cancelled by {actor}"[:500])).rowcount == 1


def queued(engine: Engine, ticker: str | None = None) -> list[StoredRequest]:
    """The waiting requests (of ``ticker`` when given), oldest first."""
    stmt = select(Rec).where(Rec.status == RequestStatus.QUEUED).order_by(Rec.id).limit(100)
    if ticker is not None:
        stmt = stmt.where(Rec.ticker == ticker)
    with engine.connect() as conn:
        return [_stored(r) for r in conn.execute(stmt).all()]


def ahead_of(engine: Engine, request_id: int) -> int:
    """How many requests, of any ticker, have waited longer than request ``request_id``."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Rec).where(
            Rec.status == RequestStatus.QUEUED, Rec.id < request_id)).scalar() or 0)
