"""A process whose own clock runs 10 minutes ahead (an injected ``now``), on real SQLite and real
Postgres: leases, heartbeats and dead-run checks use the database's clock, so it can neither take
a live lease nor fail a live run, and a run closed by another process stays closed (issue 20, point 3)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from config.settings import load_settings
from contract.run import RunRequest
from jobs.context import JobContext
from jobs.errors import RunInProgress
from jobs.run import RunHooks, run_pipeline
from store import lease as leases
from store import runs
from tests.support.aging import age_run, expire_lease

SKEW = timedelta(minutes=10)
TTL = 60  # LEASE_TTL_SECONDS: a skew of 10 minutes is ten TTLs
AAPL = leases.training_lease("AAPL")


@pytest.fixture
def skewed(engine, database_url, tmp_path) -> JobContext:
    """A process whose clock reads 10 minutes ahead of everyone else's."""
    settings = load_settings({"DATABASE_URL": database_url, "DATA_DIR": str(tmp_path), "PRICE_SOURCE": "offline",
                              "PIPELINE_EPOCHS": "1", "RETRAIN_WEEKDAY": "", "LEASE_TTL_SECONDS": str(TTL)})
    return JobContext(settings=settings, engine=engine, now=lambda: datetime.now(timezone.utc) + SKEW)


def _live_run(engine, ticker: str = "AAPL") -> int:
    """A run in progress elsewhere: recorded, beating, holding its ticker's lease."""
    name = leases.training_lease(ticker)
    leases.acquire(engine, holder="live-worker", ttl_s=TTL, name=name)
    run_id = runs.start_run(engine, ticker=ticker, trigger="manual", requested_by="ui:boss", action="retrain")
    leases.attach_run(engine, holder="live-worker", run_id=run_id, name=name)
    return run_id


def test_a_process_ten_minutes_ahead_cannot_take_a_live_lease(skewed):
    """Was: its now was past the live lease's expiry, so it took the lease over and trained too."""
    live = _live_run(skewed.engine)
    with pytest.raises(RunInProgress, match=f"run #{live}"):
        run_pipeline(skewed, RunRequest.build("AAPL", action="retrain", requested_by="skewed"))
    assert leases.current_lease(skewed.engine, AAPL, live=True).holder == "live-worker"
    assert [r["id"] for r in runs.list_runs(skewed.engine)] == [live]  # the refusal recorded nothing


def test_a_process_ten_minutes_ahead_does_not_fail_a_live_run(skewed):
    """Was: its run of another ticker marked the live run failed as 'no heartbeat' on start."""
    live = _live_run(skewed.engine)
    other = run_pipeline(skewed, RunRequest.build("MSFT", action="retrain", requested_by="skewed"),
                         RunHooks(should_cancel=lambda: True))
    assert other.status == "cancelled"  # it did start: the orphan check ran on its way
    assert runs.get_run(skewed.engine, live)["status"] == "running"
    assert runs.active_run(skewed.engine, "AAPL", stale_after_s=TTL)["id"] == live


def test_a_live_lease_without_its_run_still_keeps_the_run(skewed):
    """A run whose heartbeat is old but whose lease is live (a long silent step) is not failed."""
    live = _live_run(skewed.engine)
    age_run(skewed.engine, live, beat_age_s=TTL + 30)
    assert runs.mark_orphaned_runs_failed(skewed.engine, stale_after_s=TTL) == []
    expire_lease(skewed.engine, AAPL)  # now it is dead by the store's clock: failed, once
    assert runs.mark_orphaned_runs_failed(skewed.engine, stale_after_s=TTL) == [live]
    assert runs.mark_orphaned_runs_failed(skewed.engine, stale_after_s=TTL) == []


def test_a_run_marked_failed_is_never_overwritten_by_its_own_finish(engine):
    """Was: the 'dead' run finished later and wrote succeeded over failed, keeping the stale error."""
    live = _live_run(engine)
    age_run(engine, live, beat_age_s=TTL + 30)
    expire_lease(engine, AAPL)
    assert runs.mark_orphaned_runs_failed(engine, stale_after_s=TTL) == [live]
    failed = runs.get_run(engine, live)
    runs.heartbeat(engine, live)
    runs.update_progress(engine, live, 0.9, "gru epoch 5/6")
    runs.add_step(engine, live, "train", "trained gru")
    shown = runs.finish_run(engine, live, "succeeded", message="retrain: trained gru")
    assert shown["status"] == "failed" and shown["error"] == failed["error"] and "killed or crashed" in shown["error"]
    row = runs.get_run(engine, live)
    assert (row["heartbeat_at"], row["finished_at"], row["progress"], row["steps"]) == (
        failed["heartbeat_at"], failed["finished_at"], failed["progress"], failed["steps"])


def test_readers_judge_staleness_by_the_stores_clock(engine):
    """The admin page and `jobs runs` compare heartbeats with the store's time, not their own."""
    from store.times import db_now

    live = _live_run(engine)
    dead = runs.start_run(engine, ticker="MSFT", trigger="nightly", requested_by="clock", action="auto")
    age_run(engine, dead, beat_age_s=TTL + 1)
    shown = {r["id"]: runs.as_shown(r, db_now(engine), TTL)["status"] for r in runs.list_runs(engine)}
    assert shown == {live: "running", dead: "failed"}
    assert runs.active_run(engine, "AAPL", stale_after_s=TTL)["id"] == live
    assert runs.active_run(engine, "MSFT", stale_after_s=TTL) is None
