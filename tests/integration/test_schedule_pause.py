"""The admin's pause of the nightly schedule is honoured by the clock (real SQLite and Postgres)."""
from __future__ import annotations

from contract.run import RunResult
from contract.vocab import RunStatus

from datetime import datetime, timezone

from apscheduler.schedulers.background import BackgroundScheduler

from jobs.clock import Clock
from jobs.context import JobContext
from config.settings import load_settings
from store.pause import paused, set_paused


def _clock(engine, calls: list) -> Clock:
    ctx = JobContext(settings=load_settings({"TICKERS": "AAPL,MSFT"}), engine=engine,
                     now=lambda: datetime(2026, 3, 6, 23, 30, tzinfo=timezone.utc))

    def pipeline(_ctx, request, _hooks):  # stands in for training: records that the clock asked for a run
        calls.append(request.ticker)
        return RunResult(run_id=len(calls), ticker=request.ticker, status=RunStatus.SKIPPED, trigger=request.trigger,
                         action=request.action, requested_by=request.requested_by, message="no new trading day")

    return Clock(ctx, scheduler=BackgroundScheduler(timezone="America/New_York"), pipeline=pipeline)


def test_paused_schedule_runs_nothing_and_resumed_runs_again(engine):
    calls: list[str] = []
    clock = _clock(engine, calls)
    now = datetime(2026, 3, 6, 20, 0, tzinfo=timezone.utc)
    set_paused(engine, True, "ui:boss", now)
    assert paused(engine).by == "ui:boss"
    results = clock.nightly()
    assert calls == [] and {r.state for r in results} == {"paused"}  # nothing trained, said why
    assert clock.weekly_retrain()[0].message == "schedule paused by ui:boss"
    assert clock.first_start()[0].message == "schedule paused by ui:boss" and calls == []  # the start-up runs too
    set_paused(engine, False, "ui:boss", now)
    assert paused(engine) is None
    clock.nightly()
    assert calls == ["AAPL", "MSFT"]
