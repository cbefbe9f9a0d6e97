"""Issue 20, point 7: a full disk under SQLite is named as such at once and never retried as
an outage (it was retried for STORE_RETRY_SECONDS and reported as "database unreachable").

Postgres' ENOSPC ("could not extend file ... No space left on device") takes the same
path by its message; no Postgres disk can be filled here, so it is not exercised."""
from __future__ import annotations

import subprocess
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, insert
from sqlalchemy.exc import OperationalError

from store.db import StoreError, create_schema, is_outage, make_engine, retry_on_outage, store_failures_as_errors
from store.tables import Price
from tests.support.cli import assert_one_error_line


def _full_engine(tmp_path: Path) -> Engine:
    """A real SQLite store that may not grow past its schema (max_page_count, set on every connection)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'full.db'}")
    create_schema(engine)

    @event.listens_for(engine, "connect")
    def _cap(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA max_page_count = 1")  # below the current size: it stays at its size, full
        cur.close()

    engine.dispose()  # the next connection gets the cap
    return engine


def _grow(engine: Engine) -> None:
    rows = [dict(ticker="AAPL", date=date(2024, 1, d), open=1.0, high=1.0, low=1.0, close=1.0, volume=1,
                 source="x" * 60, fetched_at=datetime(2024, 2, 1, tzinfo=timezone.utc)) for d in range(1, 29)]
    with engine.begin() as conn:
        for k in range(200):  # far more than one page
            conn.execute(insert(Price), [{**r, "ticker": f"T{k}"} for r in rows])


def test_a_full_sqlite_store_is_not_an_outage_and_is_not_retried(tmp_path):
    engine = _full_engine(tmp_path)
    with pytest.raises(OperationalError, match="database or disk is full") as err:
        _grow(engine)
    assert not is_outage(err.value)
    waits: list[float] = []
    started = time.monotonic()
    with pytest.raises(OperationalError):
        retry_on_outage(lambda: _grow(engine), what="storing prices", budget_s=60, sleep=waits.append)
    assert waits == [] and time.monotonic() - started < 5  # not one retry
    with pytest.raises(StoreError) as named:
        with store_failures_as_errors(str(engine.url)):
            _grow(engine)
    assert str(named.value).startswith(f"SQLite file {tmp_path / 'full.db'} is full: its disk has no space left")
    assert "unreachable" not in str(named.value)
    engine.dispose()


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs mounted for the test (needs root and mount rights; skipped otherwise)."""
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()[:120]}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_command_on_a_full_disk_says_so_in_one_line_at_once(run_cli, small_disk):
    """The whole seeding is one transaction: the disk filling half way stores none of it."""
    url = f"sqlite:///{small_disk / 'data' / 'store.db'}"
    env = {"DATA_DIR": str(small_disk / "data"), "STORE_RETRY_SECONDS": "600"}
    assert run_cli("migrate", database_url=url, env=env).returncode == 0
    with (small_disk / "filler").open("wb") as f:  # leave about 170 kB: the schema and WAL fit, the prices do not
        f.write(b"\0" * (850 * 1024 - (small_disk / "data" / "store.db").stat().st_size))
    started = time.monotonic()
    result = run_cli("init", database_url=url, env=env)
    assert_one_error_line(result, f"SQLite file {small_disk / 'data' / 'store.db'} is full: its disk has no space left",
                          "(database or disk is full)")
    assert time.monotonic() - started < 30
    (small_disk / "filler").unlink()
    assert run_cli("status", database_url=url, env=env).stdout.startswith("no prices stored yet")
