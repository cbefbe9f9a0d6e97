"""Failed-login counting per client address, in the store (the web's login rate limit).

In the store rather than in process memory so the limit holds across gunicorn
workers and dynos: an address gets ``max_failures`` wrong tries per window in all,
not per worker. One row per address; a row whose window has passed is reset on
the next failure and purged, so the table never holds more than the addresses
that failed within one window.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from store.times import as_utc
from store.tables import LoginFailure


@dataclass(frozen=True)
class LoginLimit:
    max_failures: int = 10
    window_s: int = 300


def _key(address: str) -> str:
    return (address or "unknown")[:64]


def blocked(engine: Engine, address: str, now: datetime, limit: LoginLimit) -> bool:
    """True when ``address`` used up its failures in the current window."""
    cutoff = as_utc(now) - timedelta(seconds=limit.window_s)
    with engine.connect() as conn:
        row = conn.execute(select(LoginFailure.window_start, LoginFailure.failures)
                           .where(LoginFailure.address == _key(address))).first()
    return row is not None and as_utc(row.window_start) > cutoff and row.failures >= limit.max_failures


def record_failure(engine: Engine, address: str, now: datetime, limit: LoginLimit) -> int:
    """Count one failed login of ``address``; returns its failures in the current window."""
    now, key = as_utc(now), _key(address)
    cutoff = now - timedelta(seconds=limit.window_s)
    for _attempt in range(3):
        with engine.begin() as conn:
            # Each UPDATE is atomic on its own, so two workers counting at once both count.
            if conn.execute(update(LoginFailure).where(LoginFailure.address == key, LoginFailure.window_start <= cutoff)
                            .values(window_start=now, failures=1)).rowcount:
                return 1
            if conn.execute(update(LoginFailure).where(LoginFailure.address == key)
                            .values(failures=LoginFailure.failures + 1)).rowcount:
                return conn.execute(select(LoginFailure.failures).where(LoginFailure.address == key)).scalar_one()
        try:
            with engine.begin() as conn:
                conn.execute(delete(LoginFailure).where(LoginFailure.window_start <= cutoff))
                conn.execute(insert(LoginFailure).values(address=key, window_start=now, failures=1))
            return 1
        except IntegrityError:
            continue  # another worker inserted this address first: count on its row
    return limit.max_failures
