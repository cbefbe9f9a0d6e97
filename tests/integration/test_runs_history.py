"""Run history rows: start, steps, progress, finish, cancel flags and orphan recovery."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from store import lease as leases
from store import runs
from tests.support.aging import age_run, expire_lease

T0 = datetime(2026, 3, 6, 23, 30, tzinfo=timezone.utc)


def _start(engine, **kw):
    args = dict(ticker="AAPL", trigger="nightly", requested_by="clock", action="auto", now=T0)
    return runs.start_run(engine, **{**args, **kw})


def test_a_run_goes_from_running_to_succeeded_with_its_steps(engine):
    run_id = _start(engine)
    runs.add_step(engine, run_id, "prices", "AAPL: added 1 new rows", T0 + timedelta(seconds=1), added=1)
    runs.update_progress(engine, run_id, 0.5, "gru epoch 3/6", T0 + timedelta(seconds=2))
    mid = runs.get_run(engine, run_id)
    assert (mid["status"], mid["progress"], mid["progress_message"]) == ("running", 0.5, "gru epoch 3/6")
    assert mid["heartbeat_at"] == T0 + timedelta(seconds=2)
    done = runs.finish_run(engine, run_id, "succeeded", now=T0 + timedelta(seconds=9), promoted=True,
                           metrics_after={"gru": {"rmse": 1.2}})
    assert done["status"] == "succeeded" and done["progress"] == 1.0 and done["promoted"] is True
    assert [s["step"] for s in done["steps"]] == ["prices"] and done["steps"][0]["added"] == 1
    assert done["duration_s"] == 9.0
    json.dumps(runs.run_json(done))  # the CLI's --json and the dashboard can serialise it


def test_list_is_newest_first_and_active_run_is_the_running_one(engine):
    first = _start(engine)
    runs.finish_run(engine, first, "skipped", now=T0, message="no new trading day")
    second = _start(engine, trigger="manual", requested_by="alice", action="retrain")
    assert [r["id"] for r in runs.list_runs(engine)] == [second, first]
    assert runs.active_run(engine)["id"] == second
    runs.finish_run(engine, second, "failed", now=T0, error="ValueError: boom\nsecond line")
    assert runs.active_run(engine) is None
    assert runs.get_run(engine, second)["error"] == "ValueError: boom second line"


def test_cancel_is_requested_only_for_a_running_run(engine):
    run_id = _start(engine)
    assert not runs.is_cancel_requested(engine, run_id)
    assert runs.request_cancel(engine, run_id)
    assert runs.is_cancel_requested(engine, run_id)
    runs.finish_run(engine, run_id, "cancelled", now=T0)
    assert not runs.request_cancel(engine, run_id)


@pytest.mark.parametrize("status", ["running", "done", "weird"])
def test_finish_rejects_non_final_status(engine, status):
    run_id = _start(engine)
    with pytest.raises(ValueError):
        runs.finish_run(engine, run_id, status, now=T0)


def test_orphaned_run_is_failed_only_once_its_lease_expired(engine):
    """A killed process leaves a running row and a lease; recovery waits for the lease."""
    run_id = _start(engine)  # its heartbeat is long past (T0)
    leases.acquire(engine, holder="killed", ttl_s=60, name=leases.training_lease("AAPL"))
    leases.attach_run(engine, holder="killed", run_id=run_id, name=leases.training_lease("AAPL"))
    # Lease still live: the run may just be busy, leave it alone.
    assert runs.mark_orphaned_runs_failed(engine, stale_after_s=60) == []
    expire_lease(engine, leases.training_lease("AAPL"))
    assert runs.mark_orphaned_runs_failed(engine, stale_after_s=60) == [run_id]
    failed = runs.get_run(engine, run_id)
    assert failed["status"] == "failed" and "killed or crashed" in failed["error"]


def test_a_live_run_with_fresh_heartbeat_is_not_orphaned(engine):
    run_id = _start(engine)
    age_run(engine, run_id, beat_age_s=100)
    runs.heartbeat(engine, run_id)  # by the database's clock: just now
    assert runs.mark_orphaned_runs_failed(engine, stale_after_s=60) == []
    age_run(engine, run_id, beat_age_s=61)
    assert runs.mark_orphaned_runs_failed(engine, stale_after_s=60) == [run_id]
