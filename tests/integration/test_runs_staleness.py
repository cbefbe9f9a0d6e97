"""A run whose heartbeat is older than the lease TTL is dead: it is not active and reads as
failed; active runs are per ticker. Real SQLite and real Postgres."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from store import runs

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
TTL = 120


def _start(engine, ticker: str, at: datetime) -> int:
    return runs.start_run(engine, ticker=ticker, trigger="manual", requested_by="cli", action="retrain", now=at)


def test_active_run_is_per_ticker_and_ignores_dead_runs(engine):
    dead_msft = _start(engine, "MSFT", T0 - timedelta(seconds=TTL + 1))
    live_aapl = _start(engine, "AAPL", T0 - timedelta(seconds=5))
    assert runs.active_run(engine, "AAPL", now=T0, stale_after_s=TTL)["id"] == live_aapl
    assert runs.active_run(engine, "MSFT", now=T0, stale_after_s=TTL) is None
    assert runs.active_run(engine, "MSFT")["id"] == dead_msft  # without a clock: what the row says
    runs.heartbeat(engine, dead_msft, T0)  # it was alive after all (a slow step): active again
    assert runs.active_run(engine, "MSFT", now=T0, stale_after_s=TTL)["id"] == dead_msft


def test_a_dead_run_reads_as_failed_and_the_row_is_untouched(engine):
    run_id = _start(engine, "AAPL", T0 - timedelta(seconds=TTL + 30))
    row = runs.get_run(engine, run_id)
    shown = runs.as_shown(row, T0, TTL)
    assert shown["status"] == "failed" and "no heartbeat for over 120 s" in shown["error"]
    assert runs.get_run(engine, run_id)["status"] == "running"  # computed on read; the next run records it
    assert runs.as_shown(row, T0 - timedelta(seconds=TTL), TTL)["status"] == "running"


def test_the_runs_command_shows_a_dead_run_as_failed(engine, database_url, run_cli):
    """`python -m jobs runs` agrees with the admin page: a run with no heartbeat is failed."""
    dead = _start(engine, "AAPL", datetime.now(timezone.utc) - timedelta(hours=2))
    result = run_cli("runs", "--json", database_url=database_url)
    assert result.returncode == 0, result.stderr
    shown = {r["id"]: r for r in json.loads(result.stdout)}[dead]
    assert shown["status"] == "failed" and "no heartbeat" in shown["error"]
    assert runs.get_run(engine, dead)["status"] == "running"  # reading never rewrites the row
