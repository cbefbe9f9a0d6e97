"""Run history: every pipeline run (nightly, manual, bootstrap, simulate) and its progress.

The training process writes here as it goes; the dashboard and ``python -m jobs runs``
read it. No TensorFlow and no APScheduler here: the web process imports this module.

A run dict has the columns of ``tables.Run`` (datetimes as aware UTC) plus
``duration_s``; ``run_json`` makes it JSON-ready.

A run's times (started, heartbeat, finished) are the database's clock, the one clock that
leases use too: "has this run stopped beating?" is decided against it, never against the
reading process's own clock (which may run ahead). The writers take ``now=None`` for that;
tests pass a time to write a row as if it were written then.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from contract.errors import one_line
from contract.vocab import Action, RunStatus, Trigger
from store.tables import Lease, Run
from store.times import as_utc, db_now_expr, read_db_now

log = logging.getLogger(__name__)

# the vocabularies of contract.vocab, as the plain strings the table holds
STATUSES = tuple(s.value for s in RunStatus)
FINAL_STATUSES = frozenset(s.value for s in RunStatus if s.final)
TRIGGERS = tuple(t.value for t in Trigger)
ACTIONS = tuple(a.value for a in Action)

_COLUMNS = [c.name for c in Run.__table__.columns]


def _as_dict(row: Row[Any]) -> dict[str, Any]:
    d = {c: getattr(row, c) for c in _COLUMNS}
    for key in ("started_at", "finished_at", "heartbeat_at"):
        if d[key] is not None:
            d[key] = as_utc(d[key])
    d["steps"] = list(d["steps"] or [])
    end = d["finished_at"] or d["heartbeat_at"]
    d["duration_s"] = round((end - d["started_at"]).total_seconds(), 1) if end else None
    return d


def run_json(run: dict[str, Any]) -> dict[str, Any]:
    """The same run with datetimes as ISO strings."""
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in run.items()}


def _at(conn: Connection, now: datetime | None) -> datetime | ColumnElement[Any]:
    """The time to write: ``now`` when a test gives one, else the database's clock."""
    return db_now_expr(conn.dialect.name) if now is None else as_utc(now)


_RUNNING = Run.status == RunStatus.RUNNING.value


def start_run(
    engine: Engine,
    *,
    ticker: str,
    trigger: str,
    requested_by: str,
    action: str,
    now: datetime | None = None,
) -> int:
    """Record a new run as ``running``; returns its id (its ``detail`` is filled as the run decides)."""
    if trigger not in TRIGGERS:
        raise ValueError(f"trigger {trigger!r} must be one of {', '.join(TRIGGERS)}")
    if action not in ACTIONS:
        raise ValueError(f"action {action!r} must be one of {', '.join(ACTIONS)}")
    with engine.begin() as conn:
        now_or_db = _at(conn, now)
        result = conn.execute(
            insert(Run).values(
                ticker=ticker,
                trigger=trigger,
                requested_by=requested_by[:64],
                action=action,
                status=RunStatus.RUNNING.value,
                started_at=now_or_db,
                heartbeat_at=now_or_db,
                steps=[],
                progress=0.0,
                progress_message="starting",
                cancel_requested=False,
                detail=None,
            )
        )
        key = result.inserted_primary_key
        assert key is not None  # an INSERT of one row always has its key
        return int(key[0])


def get_run(engine: Engine, run_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(Run).where(Run.id == run_id)).first()
    return None if row is None else _as_dict(row)


def add_step(engine: Engine, run_id: int, step: str, message: str, now: datetime | None = None, **info: Any) -> None:
    """Append a finished step (``{"step", "message", "at", ...}``) to a running run's list."""
    # Read-modify-write is safe: only the process holding the training lease writes a run.
    with engine.begin() as conn:
        at = as_utc(now) if now is not None else read_db_now(conn)
        entry = {"step": step, "message": message, "at": at.isoformat(), **info}
        steps = conn.execute(select(Run.steps).where(Run.id == run_id)).scalar() or []
        conn.execute(
            update(Run).where(Run.id == run_id, _RUNNING)
            .values(steps=[*steps, entry], heartbeat_at=at, progress_message=message)
        )


def update_progress(engine: Engine, run_id: int, fraction: float, message: str, now: datetime | None = None) -> None:
    """Set a running run's progress (0..1) and its one-line message; also bumps the heartbeat."""
    fraction = min(1.0, max(0.0, float(fraction)))
    with engine.begin() as conn:
        conn.execute(
            update(Run)
            .where(Run.id == run_id, _RUNNING)
            .values(progress=fraction, progress_message=message[:500], heartbeat_at=_at(conn, now))
        )


def heartbeat(engine: Engine, run_id: int, now: datetime | None = None) -> None:
    """The run's process is alive (by the database's clock); a run no longer running is left alone."""
    with engine.begin() as conn:
        conn.execute(update(Run).where(Run.id == run_id, _RUNNING).values(heartbeat_at=_at(conn, now)))


def record(engine: Engine, run_id: int, **fields: Any) -> None:
    """Store figures as soon as they are known (rows_fetched, metrics_before, detail, ...)."""
    unknown = set(fields) - set(_COLUMNS)
    if unknown:
        raise ValueError(f"runs have no column(s) {', '.join(sorted(unknown))}")
    with engine.begin() as conn:
        conn.execute(update(Run).where(Run.id == run_id).values(**fields))


def finish_run(
    engine: Engine,
    run_id: int,
    status: str,
    *,
    now: datetime | None = None,
    message: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Close a running run with a final status; ``fields`` as in ``record`` (an ``error`` is kept as
    one line, and ``error=None`` leaves the column as it is). Returns the run as stored.

    Only a run still ``running`` is closed: a run that another process already closed (marked
    failed as dead) keeps that status and error; this writes nothing and logs why."""
    if status not in FINAL_STATUSES:
        raise ValueError(f"final status {status!r} must be one of {', '.join(sorted(FINAL_STATUSES))}")
    error = fields.pop("error", None)
    values: dict[str, Any] = dict(status=status, **fields)
    if error is not None:
        values["error"] = one_line(error)
    if message is not None:
        values["progress_message"] = message[:500]
    if status in (RunStatus.SUCCEEDED, RunStatus.SKIPPED):
        values["progress"] = 1.0  # done; failed/cancelled runs keep the point they reached
    with engine.begin() as conn:
        at = _at(conn, now)
        closed = conn.execute(
            update(Run).where(Run.id == run_id, _RUNNING).values(finished_at=at, heartbeat_at=at, **values)
        ).rowcount
    run = get_run(engine, run_id)
    if not closed and run is not None:
        log.warning("run %s was already %s (%s); its end (%s) is not recorded over that",
                    run_id, run["status"], run.get("error") or "no error", status)
    return run  # type: ignore[return-value]


def request_cancel(engine: Engine, run_id: int) -> bool:
    """Ask a running run to stop at its next safe point; False if it is not running."""
    with engine.begin() as conn:
        n = conn.execute(
            update(Run).where(Run.id == run_id, Run.status == RunStatus.RUNNING.value).values(cancel_requested=True)
        ).rowcount
    return n == 1


def is_cancel_requested(engine: Engine, run_id: int) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(select(Run.cancel_requested).where(Run.id == run_id)).scalar())


def list_runs(engine: Engine, limit: int = 50, ticker: str | None = None) -> list[dict[str, Any]]:
    """Newest first."""
    stmt = select(Run).order_by(Run.id.desc()).limit(limit)
    if ticker is not None:
        stmt = stmt.where(Run.ticker == ticker)
    with engine.connect() as conn:
        return [_as_dict(r) for r in conn.execute(stmt).all()]


def is_stale(run: dict[str, Any], now: datetime, stale_after_s: float) -> bool:
    """True for a run still marked running whose process has sent no heartbeat for
    ``stale_after_s`` (the lease TTL): it died, was killed or was terminated."""
    if run.get("status") != RunStatus.RUNNING:
        return False
    beat = run.get("heartbeat_at") or run.get("started_at")
    return beat is not None and as_utc(beat) <= as_utc(now) - timedelta(seconds=stale_after_s)


STALE_ERROR = ("process stopped mid-run (killed, crashed or terminated): no heartbeat for over {ttl:.0f} s, "
               "so it is shown as failed")


def as_shown(run: dict[str, Any], now: datetime, stale_after_s: float) -> dict[str, Any]:
    """The run as a reader should see it: a stale ``running`` run is ``failed`` (computed on
    read; the next run of any ticker also records it, see :func:`mark_orphaned_runs_failed`)."""
    if not is_stale(run, now, stale_after_s):
        return run
    return {**run, "status": RunStatus.FAILED.value, "error": run.get("error") or STALE_ERROR.format(ttl=stale_after_s)}


def _stale(dialect: str, stale_after_s: float) -> ColumnElement[bool]:
    """SQL: a run marked running with no heartbeat for ``stale_after_s`` by the database's clock."""
    beat = func.coalesce(Run.heartbeat_at, Run.started_at)
    return and_(_RUNNING, beat <= db_now_expr(dialect, -stale_after_s))


def active_run(engine: Engine, ticker: str | None = None, stale_after_s: float | None = None
               ) -> dict[str, Any] | None:
    """The newest run still marked running (of ``ticker`` when given), or None.

    With ``stale_after_s``, a run with no heartbeat for that long (by the database's clock)
    is not active: its process is gone, and it must never block a new run or hold the UI."""
    stmt = select(Run).where(_RUNNING).order_by(Run.id.desc())
    if ticker is not None:
        stmt = stmt.where(Run.ticker == ticker)
    with engine.connect() as conn:
        if stale_after_s is not None:
            stmt = stmt.where(~_stale(conn.dialect.name, stale_after_s))
        row = conn.execute(stmt.limit(1)).first()
    return None if row is None else _as_dict(row)


def mark_orphaned_runs_failed(engine: Engine, stale_after_s: float = 120) -> list[int]:
    """Fail runs left ``running`` by a process that died (kill -9, lost machine).

    A run is orphaned when no live lease names it and it has not sent a heartbeat for
    ``stale_after_s`` (the lease TTL), both by the database's clock; each update checks
    that again, so a heartbeat landing meanwhile keeps its run. Returns the ids marked failed.
    """
    with engine.begin() as conn:
        dialect = conn.dialect.name
        live_leases = select(Lease.run_id).where(Lease.run_id.is_not(None), Lease.expires_at > db_now_expr(dialect))
        orphaned = and_(_stale(dialect, stale_after_s), Run.id.not_in(live_leases))
        failed = []
        for rid in conn.execute(select(Run.id).where(orphaned)).scalars().all():
            n = conn.execute(
                update(Run)
                .where(Run.id == rid, orphaned)
                .values(
                    status=RunStatus.FAILED.value,
                    finished_at=db_now_expr(dialect),
                    error="process stopped mid-run (killed or crashed): no finish was recorded and its "
                    "lease expired; models it had not finished were never registered",
                    progress_message="abandoned",
                )
            ).rowcount
            if n == 1:
                failed.append(rid)
    return failed


def clock_status(engine: Engine) -> list[dict[str, Any]]:
    """What the clock process last wrote: one dict per scheduled job (job_id, next_run_at,
    heartbeat_at, detail). The web shows it without importing APScheduler."""
    from store.tables import ClockStatus

    with engine.connect() as conn:
        rows = conn.execute(select(ClockStatus).order_by(ClockStatus.next_run_at)).all()
    out = []
    for r in rows:
        out.append(
            {
                "job_id": r.job_id,
                "next_run_at": as_utc(r.next_run_at) if r.next_run_at else None,
                "heartbeat_at": as_utc(r.heartbeat_at),
                "detail": r.detail or {},
            }
        )
    return out
