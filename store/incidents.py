"""Incidents: what an operator must hear about, one open per (kind, subject), and their delivery.

Opening is insert-or-nothing (the partial unique index ``uq_incidents_one_open``): when the
web, the clock and a worker all see the same silent clock, exactly one ``open_incident`` call
returns the new id, and only that caller sends the alert. Clearing is one conditional UPDATE,
so the all-clear is sent once too. A webhook that failed is retried later by whoever claims
the delivery (``claim_delivery``: a short claim so two processes never send the same one).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, Row, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from store.tables import Incident as Rec
from store.times import as_utc


class IncidentKind(StrEnum):
    RUN_FAILED = "run_failed"  # a run failed, or was stopped by a fault (not by an admin)
    CLOCK_SILENT = "clock_silent"  # no clock heartbeat for ALERT_CLOCK_SILENT_MINUTES
    CLOSE_MISSING = "close_missing"  # no new close by ALERT_CLOSE_BY on an NYSE trading day
    REQUEST_WAITING = "request_waiting"  # a requested run waiting longer than ALERT_QUEUE_WAIT_MINUTES
    SKILL = "skill"  # live skill past a threshold over the last 60 scored days


class Delivery(StrEnum):
    OPEN = "open"
    CLEAR = "clear"


@dataclass(frozen=True)
class Finding:
    """A condition that holds now: what an incident opens with."""

    kind: IncidentKind
    subject: str
    message: str
    since: datetime
    ticker: str | None = None
    run_id: int | None = None


@dataclass(frozen=True)
class StoredIncident:
    id: int
    kind: IncidentKind
    subject: str
    ticker: str | None
    run_id: int | None
    message: str
    since: datetime
    opened_at: datetime
    cleared_at: datetime | None
    cleared_message: str | None
    sent_open_at: datetime | None
    sent_clear_at: datetime | None
    attempts: int
    delivery_error: str | None

    @property
    def pending(self) -> Delivery | None:
        """What is still to be sent: the alert first, then the all-clear."""
        if self.sent_open_at is None:
            return Delivery.OPEN
        if self.cleared_at is not None and self.sent_clear_at is None:
            return Delivery.CLEAR
        return None


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def _stored(row: Row[Any]) -> StoredIncident:
    return StoredIncident(row.id, IncidentKind(row.kind), row.subject, row.ticker, row.run_id, row.message,
                          as_utc(row.since), as_utc(row.opened_at), _utc(row.cleared_at), row.cleared_message,
                          _utc(row.sent_open_at), _utc(row.sent_clear_at), int(row.attempts or 0), row.delivery_error)


def _line(text: str, limit: int = 500) -> str:
    return " ".join(text.split())[:limit]


def open_incident(engine: Engine, finding: Finding, now: datetime) -> int | None:
    """Open an incident for ``finding``; its id if this call opened it, None when one was already open."""
    try:
        with engine.begin() as conn:
            key = conn.execute(insert(Rec).values(
                kind=str(finding.kind), subject=finding.subject[:64], ticker=finding.ticker, run_id=finding.run_id,
                message=_line(finding.message), since=as_utc(finding.since), opened_at=as_utc(now),
                attempts=0)).inserted_primary_key
    except IntegrityError:  # uq_incidents_one_open: another process (or an earlier check) opened it
        return None
    assert key is not None
    return int(key[0])


def clear_incident(engine: Engine, kind: IncidentKind, subject: str, message: str, now: datetime) -> int | None:
    """Clear the open incident of (kind, subject); its id if this call cleared it, else None."""
    with engine.begin() as conn:
        found = conn.execute(select(Rec.id).where(Rec.kind == str(kind), Rec.subject == subject[:64],
                                                  Rec.cleared_at.is_(None))).scalar()
        if found is None:
            return None
        done = conn.execute(update(Rec).where(Rec.id == found, Rec.cleared_at.is_(None)).values(
            cleared_at=as_utc(now), cleared_message=_line(message))).rowcount
    return int(found) if done == 1 else None


def open_incidents(engine: Engine, kind: IncidentKind | None = None) -> list[StoredIncident]:
    stmt = select(Rec).where(Rec.cleared_at.is_(None)).order_by(Rec.id)
    if kind is not None:
        stmt = stmt.where(Rec.kind == str(kind))
    with engine.connect() as conn:
        return [_stored(r) for r in conn.execute(stmt).all()]


def get(engine: Engine, incident_id: int) -> StoredIncident | None:
    with engine.connect() as conn:
        row = conn.execute(select(Rec).where(Rec.id == incident_id)).first()
    return None if row is None else _stored(row)


def recent(engine: Engine, limit: int = 20) -> list[StoredIncident]:
    """The newest incidents, open or cleared, newest first (the admin page's Alerts)."""
    with engine.connect() as conn:
        rows = conn.execute(select(Rec).order_by(Rec.id.desc()).limit(max(1, min(limit, 200)))).all()
    return [_stored(r) for r in rows]


def claim_delivery(engine: Engine, incident_id: int, now: datetime, hold_s: float = 120) -> StoredIncident | None:
    """Take the right to send an incident's pending message for ``hold_s``; None when another process
    holds it, or nothing is pending."""
    now = as_utc(now)
    with engine.begin() as conn:
        taken = conn.execute(update(Rec).where(
            Rec.id == incident_id, or_(Rec.sending_until.is_(None), Rec.sending_until < now),
            or_(Rec.sent_open_at.is_(None), and_(Rec.cleared_at.is_not(None), Rec.sent_clear_at.is_(None)))
        ).values(sending_until=now + timedelta(seconds=hold_s))).rowcount
    return get(engine, incident_id) if taken == 1 else None


def record_delivery(engine: Engine, incident_id: int, what: Delivery, now: datetime, error: str | None = None) -> None:
    """The outcome of one delivery round (after its retries): sent, or the failure in one line."""
    values: dict[str, Any] = {"sending_until": None}
    if error is None:
        values["sent_open_at" if what is Delivery.OPEN else "sent_clear_at"] = as_utc(now)
        values["delivery_error"] = None
    else:
        values["delivery_error"] = _line(error, 300)
        values["attempts"] = Rec.attempts + 1
    with engine.begin() as conn:
        conn.execute(update(Rec).where(Rec.id == incident_id).values(**values))


def undelivered(engine: Engine, now: datetime, max_attempts: int, within_s: float = 86400) -> list[int]:
    """Incidents with a message still to send, opened or cleared within ``within_s`` (an alert a day late
    helps nobody), whose earlier rounds failed fewer than ``max_attempts`` times; oldest first."""
    after = as_utc(now) - timedelta(seconds=within_s)
    stmt = select(Rec.id).where(
        Rec.attempts < max_attempts,
        or_(and_(Rec.sent_open_at.is_(None), Rec.opened_at >= after),
            and_(Rec.cleared_at.is_not(None), Rec.sent_clear_at.is_(None), Rec.cleared_at >= after))
    ).order_by(Rec.id).limit(100)
    with engine.connect() as conn:
        return [int(i) for i in conn.execute(stmt).scalars()]
