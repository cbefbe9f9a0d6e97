"""Single use of price-fetch tickets, recorded in the store.

The admin page signs a short-lived ticket that the background process (a diskcache
child of some web worker, or a Celery worker on another machine) redeems to fetch
prices once. The signature proves who issued it; this table proves it was not spent
before, whichever process redeems it. (A run's ticket names a queued run request
instead, and is spent by claiming it: ``store.run_requests``.)
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from store.times import as_utc
from store.tables import UsedRunTicket

KEEP_S = 24 * 3600  # far longer than any ticket lives, so a spent ticket is never forgotten while valid


def claim(engine: Engine, nonce: str, actor: str, now: datetime) -> bool:
    """Spend the ticket ``nonce``: True the first time, False on every later try."""
    now = as_utc(now)
    try:
        with engine.begin() as conn:
            conn.execute(insert(UsedRunTicket).values(nonce=nonce[:64], actor=actor[:64], used_at=now))
    except IntegrityError:
        return False
    with engine.begin() as conn:  # keep the table small: spent tickets long past their expiry go
        conn.execute(delete(UsedRunTicket).where(UsedRunTicket.used_at < now - timedelta(seconds=KEEP_S)))
    return True
