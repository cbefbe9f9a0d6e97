"""Requested runs, queued in the store until one executor claims them.

Every run is recorded here first, whoever asks for it: the admin page and the clock queue
a request; the executor (a Celery worker with ``REDIS_URL``, the clock's child process
without) claims it when it is free to start it. The CLI records its own request already
claimed and runs it in the foreground. The claim is one conditional UPDATE (``queued`` ->
``claimed``), atomic on SQLite and Postgres alike, so exactly one executor starts a
request however often its message is delivered, replayed or raced; nothing expires
while it waits. A queued request can be cancelled; a claimed one is a run, cancelled
as a run.

A claimed request carries its executor's heartbeat (``heartbeat_at``, on the database's
clock). :func:`sweep` finds the claims whose executor fell silent (killed, frozen, its
machine gone) and re-queues each once (``requeues_left``) or ends it, saying why.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy import Engine, Row, func, insert, select, update

from contract.errors import Refusal
from contract.run import RunRequest
from contract.vocab import QueueState, RequestStatus
from store.tables import RunRequestRecord as Rec
from store.times import as_utc, db_now_expr


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
    heartbeat_at: datetime | None = None
    requeues_left: int = 1

    @property
    def ticker(self) -> str:
        return self.request.ticker


def _stored(row: Row[Any]) -> StoredRequest:
    def utc(value: datetime | None) -> datetime | None:
        return as_utc(value) if value is not None else None

    return StoredRequest(row.id, RunRequest.from_json(row.request), as_utc(row.requested_at),
                         RequestStatus(row.status), row.claimed_by, utc(row.claimed_at), utc(row.finished_at),
                         row.run_id, row.outcome, utc(row.heartbeat_at), int(row.requeues_left))


def add(engine: Engine, request: RunRequest, now: datetime, claimer: str | None = None) -> int:
    """Queue ``request``; its id. Refused while the ticker already has a queued request
    (one waits per ticker: the queue stays as short as the list of tickers).

    ``claimer``: the request is recorded already claimed by it (the CLI runs its own request in
    the foreground); such a request is never re-queued by the sweep, only ended."""
    values: dict[str, Any] = {"status": RequestStatus.QUEUED}
    if claimer is not None:
        values = {"status": RequestStatus.CLAIMED, "claimed_by": claimer[:128], "claimed_at": as_utc(now),
                  "heartbeat_at": db_now_expr(engine.dialect.name), "requeues_left": 0}
    try:
        with engine.begin() as conn:
            key = conn.execute(insert(Rec).values(
                ticker=request.ticker, request=request.to_json(), requested_by=request.requested_by[:64],
                requested_at=as_utc(now), **values)).inserted_primary_key
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
            status=RequestStatus.CLAIMED, claimed_by=claimer[:128], claimed_at=as_utc(now),
            heartbeat_at=db_now_expr(engine.dialect.name))).rowcount
    return get(engine, request_id) if taken == 1 else None


def heartbeat(engine: Engine, request_id: int, claimer: str) -> bool:
    """The claimer is alive (on the database's clock); False once the claim is no longer its own
    (swept after a silence, ended)."""
    with engine.begin() as conn:
        return conn.execute(update(Rec).where(
            Rec.id == request_id, Rec.status == RequestStatus.CLAIMED, Rec.claimed_by == claimer[:128]).values(
            heartbeat_at=db_now_expr(engine.dialect.name))).rowcount == 1


def unclaim(engine: Engine, request_id: int, claimer: str) -> bool:
    """Put a claimed request back in the queue (its run could not start: the ticker's lease
    was taken between the look and the claim); only its claimer can."""
    with engine.begin() as conn:
        return conn.execute(update(Rec).where(
            Rec.id == request_id, Rec.status == RequestStatus.CLAIMED, Rec.claimed_by == claimer[:128]).values(
            status=RequestStatus.QUEUED, claimed_by=None, claimed_at=None, heartbeat_at=None)).rowcount == 1


def finish(engine: Engine, request_id: int, claimer: str, now: datetime, outcome: str,
           run_id: int | None = None) -> bool:
    """Record how a claimed request ended (one line) and its run; only its claimer can."""
    with engine.begin() as conn:
        return conn.execute(update(Rec).where(
            Rec.id == request_id, Rec.status == RequestStatus.CLAIMED, Rec.claimed_by == claimer[:128]).values(
            status=RequestStatus.ENDED, finished_at=as_utc(now), run_id=run_id,
            outcome=" ".join(outcome.split())[:500])).rowcount == 1


def cancel(engine: Engine, request_id: int, actor: str, now: datetime, verb: str = "cancelled") -> bool:
    """Cancel a request still waiting; False once an executor has claimed it (or it ended).
    Who and when are kept: ``finished_at`` and the outcome "<verb> by <actor>" (the audit)."""
    with engine.begin() as conn:
        return conn.execute(update(Rec).where(Rec.id == request_id, Rec.status == RequestStatus.QUEUED).values(
            status=RequestStatus.CANCELLED, finished_at=as_utc(now), outcome=f"{verb} by {actor}"[:500])).rowcount == 1


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


def queue_state(req: StoredRequest, now: datetime, silent_s: float) -> QueueState:
    """Where ``req`` stands (``QueueState``): a claim is judged by its executor's heartbeat, not by a lease,
    so a killed CLI run, a killed worker and a killed clock child read alike."""
    if req.status is RequestStatus.QUEUED:
        return QueueState.REDELIVERY if (req.outcome or "").startswith("re-queued") else QueueState.WAITING
    beat = req.heartbeat_at or req.claimed_at
    return QueueState.SILENT if beat is None or (as_utc(now) - beat).total_seconds() > silent_s else QueueState.RUNNING


def pending(engine: Engine) -> list[StoredRequest]:
    """The requests not yet ended: waiting (re-queued ones too) and claimed, oldest first."""
    stmt = select(Rec).where(Rec.status.in_([RequestStatus.QUEUED, RequestStatus.CLAIMED])).order_by(Rec.id).limit(500)
    with engine.connect() as conn:
        return [_stored(r) for r in conn.execute(stmt).all()]


Swept = Literal["requeued", "ended"]


def sweep(engine: Engine, silent_s: float, now: datetime) -> list[tuple[StoredRequest, Swept]]:
    """Take back every claim whose executor has been silent for ``silent_s`` (no heartbeat, by the
    database's clock): re-queued while it has a re-queue left, else ended; each once (the update
    re-checks the silence, so two sweepers never both act)."""
    silent = Rec.heartbeat_at < db_now_expr(engine.dialect.name, -silent_s)
    with engine.connect() as conn:
        found = [_stored(r) for r in conn.execute(select(Rec).where(Rec.status == RequestStatus.CLAIMED, silent)).all()]
    done: list[tuple[StoredRequest, Swept]] = []
    for req in found:
        since = f"its executor {req.claimed_by} fell silent (no heartbeat since {req.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC)"
        where = (Rec.id == req.id, Rec.status == RequestStatus.CLAIMED, Rec.claimed_by == req.claimed_by, silent)
        how: Swept | None = None
        if req.requeues_left > 0:
            try:
                with engine.begin() as conn:
                    if conn.execute(update(Rec).where(*where).values(
                            status=RequestStatus.QUEUED, claimed_by=None, claimed_at=None, heartbeat_at=None,
                            requeues_left=req.requeues_left - 1,
                            outcome=f"re-queued at {as_utc(now):%H:%M:%S} UTC: {since}"[:500])).rowcount == 1:
                        how = "requeued"
            except IntegrityError:  # another request of the ticker waits already: this one ends
                since += f"; not re-queued: another {req.ticker} request is queued"
        if how is None:
            with engine.begin() as conn:
                if conn.execute(update(Rec).where(*where).values(
                        status=RequestStatus.ENDED, finished_at=as_utc(now),
                        outcome=f"ended, not run again: {since}"[:500])).rowcount == 1:
                    how = "ended"
        if how is not None:
            done.append((req, how))
    return done
