"""The clock's runs go to a spawned child process: same records, lease and cancel as in-process runs."""
from __future__ import annotations

from contract.run import RunRequest, RunResult
from jobs.run import RunHooks

from datetime import datetime, timezone

import pytest

from jobs.child import run_pipeline_in_child
from jobs.context import JobContext
from jobs.errors import RunInProgress
from store import lease as leases
from store import runs
from config.settings import load_settings
from marketdata.sources.offline import OfflineSampleSource
from price_feed.updates import update_from_sources

NOW = datetime(2026, 3, 6, 23, 30, tzinfo=timezone.utc)


@pytest.fixture
def ctx(engine, database_url, tmp_path):
    """A context whose settings point the child at the same fresh store (offline prices)."""
    settings = load_settings({"DATABASE_URL": database_url, "DATA_DIR": str(tmp_path), "PRICE_SOURCE": "offline",
                              "PIPELINE_EPOCHS": "1", "RETRAIN_WEEKDAY": ""})
    return JobContext(settings=settings, engine=engine, now=lambda: NOW)


def test_a_refusal_in_the_child_reaches_the_caller_as_run_in_progress(ctx):
    # Another process holds AAPL's training lease: the child must be refused, record nothing.
    leases.acquire(ctx.engine, holder="someone-else", ttl_s=600, name=leases.training_lease("AAPL"))
    with pytest.raises(RunInProgress, match="another training run is (starting|in progress)"):
        run_pipeline_in_child(ctx, RunRequest.build("AAPL", trigger="nightly", requested_by="clock"))
    assert runs.list_runs(ctx.engine) == []


def test_the_callers_cancel_reaches_the_child_and_the_run_is_recorded_cancelled(ctx):
    run = run_pipeline_in_child(ctx, RunRequest.build("AAPL", trigger="nightly", requested_by="clock"),
                                RunHooks(should_cancel=lambda: True))
    assert run.status == "cancelled"
    assert runs.get_run(ctx.engine, run.run_id)["status"] == "cancelled"
    # The lease was released by the child: a new in-child run can start at once.
    assert leases.current_lease(ctx.engine, leases.training_lease("AAPL"), live=True) is None


@pytest.mark.slow
def test_a_training_run_happens_in_another_process_and_is_recorded(ctx):
    update_from_sources(ctx.engine, "AAPL", [OfflineSampleSource()], 10, NOW)
    run = run_pipeline_in_child(ctx, RunRequest.build("AAPL", trigger="nightly", requested_by="clock",
                                                      action="retrain", cells=["gru"]))
    assert run.status == "succeeded", run
    assert run.plan == "retrain" and [m.cell for m in run.promoted] == ["gru"]
    stored = runs.get_run(ctx.engine, run.run_id)
    assert RunResult.from_record(stored) == run  # what crossed the process boundary is what was recorded
    assert stored["status"] == "succeeded" and stored["requested_by"] == "clock"
