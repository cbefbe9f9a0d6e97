"""``/healthz``: 200 when the store answers a read within a short timeout, else 503.

The answer is open to anyone, so it says only ok/unavailable and a short reason (no host,
port, database or role names); the database's own error goes to the log.

The read runs on one helper thread so a database that hangs (a blackholed host, a
stuck lock) cannot hold the request: past ``TIMEOUT_S`` the answer is 503, and the read itself
runs under a deadline as long (``store.deadline``), so the database stops one stuck behind a lock. While an
earlier check is still hanging, no second one is queued behind it (503 at once), so
a platform probing every few seconds cannot pile up threads or connections. Checks that
arrive while one is in flight wait on that same read (threaded workers), up to the timeout.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Callable

from sqlalchemy import Engine, select

from store import deadline
from store.db import short_error
from store.tables import Price

log = logging.getLogger(__name__)

TIMEOUT_S = 2.0

_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="healthz")  # threads start on first use
_lock = threading.Lock()
_pending: Future | None = None


def _read(get_engine: Callable[[], Engine], timeout_s: float) -> None:
    # Under its own deadline (the engine obeys store.deadline): a read stuck behind a lock is stopped by
    # the database at the timeout. Before, the request gave up at the timeout but the read waited on the
    # lock for as long as it was held, holding a backend and this process's one health thread.
    engine = get_engine()  # built on a process's first use, schema check included: not part of the read
    with deadline.running(timeout_s), engine.connect() as conn:
        conn.execute(select(Price.date).limit(1)).all()


def check(get_engine: Callable[[], Engine], timeout_s: float = TIMEOUT_S) -> tuple[bool, str]:
    """(store readable, why not: short, naming nothing of the store); a check still hanging from
    before counts against this one. The database's error is logged."""
    global _pending
    with _lock:
        if _pending is None or _pending.done():
            _pending = _pool.submit(_read, get_engine, timeout_s)
        future = _pending
    try:
        future.result(timeout=timeout_s)
    except (FutureTimeout, deadline.DeadlineExceeded):  # the wait, or the read itself, ran out of time
        log.warning("healthz: the store did not answer within %.0f s", timeout_s)
        return False, f"the store did not answer within {timeout_s:.0f} s"
    except Exception as exc:  # any failure to read is "not healthy"; the details only in the log
        log.warning("healthz: the store cannot be read: %s", short_error(exc))
        return False, "the store cannot be read"
    return True, ""


def healthz(get_engine: Callable[[], Engine]) -> tuple[dict, int]:
    ok, why = check(get_engine)
    return ({"status": "ok"}, 200) if ok else ({"status": "unavailable", "reason": why}, 503)
