"""Make store rows old by the database's clock, the one clock leases and heartbeats use:
the way a test says "this holder stopped renewing a while ago" without sleeping."""
from __future__ import annotations

from sqlalchemy import Engine, update

from store.tables import Lease, Run
from store.times import db_now_expr


def expire_lease(engine: Engine, name: str, ago_s: float = 1.0) -> None:
    """The lease ``name`` expired ``ago_s`` seconds ago (its holder stopped renewing it)."""
    with engine.begin() as conn:
        conn.execute(update(Lease).where(Lease.name == name)
                     .values(expires_at=db_now_expr(conn.dialect.name, -ago_s)))


def age_run(engine: Engine, run_id: int, beat_age_s: float) -> None:
    """The run's last heartbeat (and start) was ``beat_age_s`` seconds ago."""
    with engine.begin() as conn:
        then = db_now_expr(conn.dialect.name, -beat_age_s)
        conn.execute(update(Run).where(Run.id == run_id).values(heartbeat_at=then, started_at=then))
