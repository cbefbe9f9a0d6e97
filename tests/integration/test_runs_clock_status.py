"""The clock's bookkeeping in the store: next fire times for the web, refusals, bootstrap need."""
from __future__ import annotations

from dataclasses import replace

from datetime import datetime, timezone

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from jobs.clock import FIRST_START_JOB_ID, NIGHTLY_JOB_ID, WEEKLY_RETRAIN_JOB_ID, Clock, first_start_reason
from jobs.context import JobContext
from jobs.errors import RunInProgress
from store import runs
from config.settings import load_settings
from marketdata.sources.replay import ReplaySource
from tests.support.pipeline import TINY, history

NOW = datetime(2026, 3, 6, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock(engine, tmp_path):
    """A Clock on the fresh store with a paused background scheduler (nothing fires)."""
    ctx = JobContext(settings=load_settings({"DATA_DIR": str(tmp_path), **TINY}), engine=engine, now=lambda: NOW)
    c = Clock(ctx, scheduler=BackgroundScheduler(timezone="America/New_York"))
    yield c
    if c.scheduler.running:
        c.scheduler.shutdown(wait=False)


def test_status_rows_give_the_web_the_next_runs(clock):
    clock.add_jobs(first_start=False)
    clock.scheduler.start(paused=True)
    clock.heartbeat()
    status = {s["job_id"]: s for s in runs.clock_status(clock.ctx.engine)}
    assert set(status) == {NIGHTLY_JOB_ID, WEEKLY_RETRAIN_JOB_ID}
    # Paused scheduler: the real next fire time is still computed on resume; here it is None or Friday's.
    clock.scheduler.resume()
    clock.heartbeat()
    status = {s["job_id"]: s for s in runs.clock_status(clock.ctx.engine)}
    nxt = status[NIGHTLY_JOB_ID]["next_run_at"]
    assert nxt is not None and (nxt.hour, nxt.minute) in {(22, 30), (23, 30)}
    assert status[NIGHTLY_JOB_ID]["detail"]["trigger"].startswith("cron[")


def test_a_refused_nightly_is_logged_in_clock_status_not_raised(clock):
    def busy_pipeline(ctx, request, hooks):
        raise RunInProgress("another training run is in progress: run #7 (manual retrain requested by alice)")

    clock.pipeline = busy_pipeline
    clock.add_jobs(first_start=False)
    clock.scheduler.start(paused=True)
    results = clock.nightly()
    assert results[0].state == "refused" and "run #7" in results[0].message
    status = {s["job_id"]: s for s in runs.clock_status(clock.ctx.engine)}
    assert status[NIGHTLY_JOB_ID]["detail"]["last"]["results"][0]["status"] == "refused"


def test_a_run_that_gave_up_on_the_database_is_reported_and_the_clock_carries_on(clock, caplog):
    from store.db import StoreUnavailable

    def store_down(ctx, request, hooks):
        raise StoreUnavailable("database unreachable for 60s while saving the AAPL gru model (9 attempts): x")

    clock.pipeline = store_down
    clock.add_jobs(first_start=False)
    clock.scheduler.start(paused=True)
    [result] = clock.nightly()
    assert result.state == "failed" and result.message.startswith("database unreachable for 60s")
    assert "Traceback" not in caplog.text  # one log line, not a stack


def test_bootstrap_is_scheduled_on_a_fresh_store_and_trains_first_models(clock):
    assert first_start_reason(clock.ctx.engine, "AAPL") == "no prices stored for AAPL"
    clock.add_jobs(first_start=True)
    assert FIRST_START_JOB_ID in {j.id for j in clock.scheduler.get_jobs()}
    source = ReplaySource(history(), visible=300)  # real training, two epochs, on a short history
    from jobs.run import run_pipeline

    clock.pipeline = lambda ctx, request, hooks: run_pipeline(replace(ctx, sources=[source]), request, hooks)
    clock.scheduler.start(paused=True)
    [result] = clock.first_start()
    run = runs.get_run(clock.ctx.engine, result.result.run_id)
    assert run["trigger"] == "bootstrap" and run["status"] == "succeeded" and run["detail"]["plan"] == "first"
    assert first_start_reason(clock.ctx.engine, "AAPL") is None
