"""A request's deadline stops its store work: a statement running past it is stopped by the
database itself (SQLite's progress handler, Postgres' statement_timeout), the next one is
refused before it starts, and work outside a deadline is untouched."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from store import deadline
from store.db import make_engine

# About a second of work per ten million rows on SQLite and far longer on Postgres: the deadline ends it.
SLOW = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500000000) SELECT count(*) FROM c"


@pytest.fixture
def guarded(database_url):
    """An engine prepared as the web prepares its own (``store.deadline.install``)."""
    eng = deadline.install(make_engine(database_url))
    yield eng
    eng.dispose()


def test_a_running_statement_is_stopped_at_the_deadline(guarded):
    t = time.perf_counter()
    with pytest.raises(deadline.DeadlineExceeded, match="stopped after its 0.5 s deadline"):
        with deadline.running(0.5), guarded.connect() as conn:
            conn.execute(text(SLOW)).scalar()
    assert time.perf_counter() - t < 3  # stopped at the deadline, not run to its end


def test_no_statement_starts_once_the_deadline_has_passed(guarded):
    with deadline.running(1.0), guarded.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
        time.sleep(1.1)
        with pytest.raises(deadline.DeadlineExceeded):
            conn.execute(text("SELECT 2"))


def test_work_outside_a_deadline_is_not_bounded_by_an_earlier_one(guarded, database_url):
    """After a deadline, the same pooled connection runs without a statement timeout or a short busy timeout."""
    with deadline.running(0.3), guarded.connect() as conn:
        conn.execute(text("SELECT 1"))
    with guarded.connect() as conn:
        if database_url.startswith("sqlite"):
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == deadline.SQLITE_BUSY_MS
        else:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "0"
        t = time.perf_counter()
        conn.execute(text("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) "
                          "SELECT count(*) FROM c")).scalar()
        assert time.perf_counter() - t < 30


def test_threads_have_their_own_deadlines(guarded):
    """A threaded worker runs requests side by side: one request's deadline is not another's."""
    from concurrent.futures import ThreadPoolExecutor

    def short() -> str:
        try:
            with deadline.running(0.3), guarded.connect() as conn:
                conn.execute(text(SLOW)).scalar()
        except deadline.DeadlineExceeded:
            return "stopped"
        return "finished"

    def unbounded() -> int:
        time.sleep(0.5)  # starts after the other's deadline passed
        with guarded.connect() as conn:
            return conn.execute(text("SELECT 41 + 1")).scalar()

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.submit(short), pool.submit(unbounded)
        assert (a.result(timeout=30), b.result(timeout=30)) == ("stopped", 42)
