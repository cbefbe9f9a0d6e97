"""With REDIS_URL the workers run what the clock queued; the clock logs how each of those runs ended,
once, so its log tells the whole night (not "queued" and "executed successfully")."""
from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from config.settings import load_settings
from jobs.clock import Clock
from jobs.context import JobContext
from store import runs


def finished(engine, status: str, by: str = "clock", error: str | None = None) -> int:
    run_id = runs.start_run(engine, ticker="AAPL", trigger="nightly", requested_by=by, action="auto")
    runs.finish_run(engine, run_id, status, error=error)
    return run_id


def test_the_clock_logs_each_queued_runs_end_once(engine, tmp_path, caplog):
    settings = load_settings({"DATA_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:6379/13"})
    clock = Clock(JobContext(settings=settings, engine=engine), scheduler=BackgroundScheduler(timezone="UTC"))
    finished(engine, "succeeded")  # before this clock started: not its news
    with caplog.at_level(logging.INFO, logger="jobs.clock"):
        clock.log_queued_outcomes()
        failed = finished(engine, "failed", error="price update failed, nothing trained")
        finished(engine, "failed", by="admin", error="not the clock's")
        clock.log_queued_outcomes()
        clock.log_queued_outcomes()  # nothing new: nothing said again
    lines = [r.getMessage() for r in caplog.records if r.name == "jobs.clock"]
    assert lines == [f"queued run #{failed} AAPL failed: price update failed, nothing trained"]
    assert caplog.records[-1].levelno == logging.WARNING
