"""A run whose heartbeat is older than the lease TTL is dead: it is not active and reads as
failed; active runs are per ticker. Real SQLite and real Postgres."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from store import runs
from tests.support.aging import age_run

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
TTL = 120


def _start(engine, ticker: str, beat_age_s: float) -> int:
    """A run whose last heartbeat was ``beat_age_s`` ago by the database's clock."""
    run_id = runs.start_run(engine, ticker=ticker, trigger="manual", requested_by="cli", action="retrain")
    age_run(engine, run_id, beat_age_s)
    return run_id


def test_active_run_is_per_ticker_and_ignores_dead_runs(engine):
    dead_msft = _start(engine, "MSFT", TTL + 1)
    live_aapl = _start(engine, "AAPL", 5)
    assert runs.active_run(engine, "AAPL", stale_after_s=TTL)["id"] == live_aapl
    assert runs.active_run(engine, "MSFT", stale_after_s=TTL) is None
    assert runs.active_run(engine, "MSFT")["id"] == dead_msft  # without a TTL: what the row says
    runs.heartbeat(engine, dead_msft)  # it was alive after all (a slow step): active again
    assert runs.active_run(engine, "MSFT", stale_after_s=TTL)["id"] == dead_msft


def test_a_dead_run_reads_as_failed_and_the_row_is_untouched(engine):
    run_id = runs.start_run(engine, ticker="AAPL", trigger="manual", requested_by="cli", action="retrain",
                            now=T0 - timedelta(seconds=TTL + 30))
    row = runs.get_run(engine, run_id)
    shown = runs.as_shown(row, T0, TTL)
    assert shown["status"] == "failed" and "no heartbeat for over 120 s" in shown["error"]
    assert runs.get_run(engine, run_id)["status"] == "running"  # computed on read; the next run records it
    assert runs.as_shown(row, T0 - timedelta(seconds=TTL), TTL)["status"] == "running"


def test_the_runs_command_shows_a_dead_run_as_failed(engine, database_url, run_cli):
    """`python -m jobs runs` agrees with the admin page: a run with no heartbeat is failed."""
    dead = _start(engine, "AAPL", beat_age_s=2 * 3600)
    result = run_cli("runs", "--json", database_url=database_url)
    assert result.returncode == 0, result.stderr
    shown = {r["id"]: r for r in json.loads(result.stdout)}[dead]
    assert shown["status"] == "failed" and "no heartbeat" in shown["error"]
    assert runs.get_run(engine, dead)["status"] == "running"  # reading never rewrites the row
