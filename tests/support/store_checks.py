"""What an attack on the web must leave as it was, read from the store, and the login limiter reset."""
from __future__ import annotations

from sqlalchemy import func, select

from store.db import make_engine
from store.tables import Champion, ChampionEvent, LoginFailure, Run, RunRequestRecord


def store_state(url: str) -> dict:
    """What an attack must not change: champions, the audit trail, runs, run requests."""
    engine = make_engine(url)
    with engine.connect() as conn:
        state = {
            "champions": sorted(conn.execute(select(Champion.ticker, Champion.cell, Champion.model_id)).all()),
            "events": conn.execute(select(func.count()).select_from(ChampionEvent)).scalar(),
            "runs": conn.execute(select(func.count()).select_from(Run)).scalar(),
            "cancels": conn.execute(select(func.count()).select_from(Run).where(Run.cancel_requested)).scalar(),
            "requests": sorted(conn.execute(select(RunRequestRecord.id, RunRequestRecord.status,
                                                  RunRequestRecord.claimed_by, RunRequestRecord.outcome)).all()),
        }
    engine.dispose()
    return state


def clear_login_failures(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(LoginFailure.__table__.delete())
    engine.dispose()
