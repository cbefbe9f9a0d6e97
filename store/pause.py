"""The admin's pause of the nightly schedule: a flag in the store that the clock reads before
each scheduled run, so pausing needs no restart and works across processes.

Kept as a reserved row of ``clock_status`` (no schema change): ``next_run_at`` stays empty,
``detail`` says who paused it and when. The clock never schedules a job with this id.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from store.db import session_factory
from store.tables import ClockStatus

PAUSE_ROW = "schedule-paused"


@dataclass(frozen=True)
class Pause:
    by: str
    at: str  # ISO time the pause was set


def paused(engine: Engine) -> Pause | None:
    """The pause in force, or None when the schedule runs."""
    with session_factory(engine)() as session:
        row = session.get(ClockStatus, PAUSE_ROW)
    detail = (row.detail or {}) if row else {}
    return Pause(str(detail.get("by", "?")), str(detail.get("at", "?"))) if detail.get("paused") else None


def set_paused(engine: Engine, pause: bool, actor: str, now: datetime) -> None:
    """Pause (or resume) the nightly schedule; the next scheduled fire time reads it."""
    detail = {"paused": pause, "by": actor, "at": now.isoformat()}
    with session_factory(engine).begin() as session:
        row = session.get(ClockStatus, PAUSE_ROW)
        if row is None:
            session.add(ClockStatus(job_id=PAUSE_ROW, next_run_at=None, heartbeat_at=now, detail=detail))
        else:
            row.detail, row.heartbeat_at = detail, now
