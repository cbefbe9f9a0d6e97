"""The clock's first start leaves a track record: live rows from the bootstrap run, replayed rows from a short
backfill (run in a spawned child process, like the clock's training)."""
from __future__ import annotations

from dataclasses import replace

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from jobs.backfill import bootstrap_backfill
from jobs.clock import Clock
from jobs.context import JobContext
from jobs.run import run_pipeline
from store import ledger
from config.settings import load_settings
from marketdata.sources.replay import ReplaySource
from tests.support.pipeline import FRI_EVENING, TINY, history

pytestmark = pytest.mark.slow


@pytest.fixture
def clock(sqlite_url, tmp_path):
    """A Clock on a fresh SQLite store, its scheduler paused, a three-day bootstrap backfill."""
    from store.db import create_schema, make_engine

    engine = make_engine(sqlite_url)
    create_schema(engine)
    settings = load_settings({"DATABASE_URL": sqlite_url, "DATA_DIR": str(tmp_path), "LEDGER_BOOTSTRAP_DAYS": "3",
                              **TINY})  # the backfill's child process opens the store from the settings
    c = Clock(JobContext(settings=settings, engine=engine, now=lambda: FRI_EVENING),
              scheduler=BackgroundScheduler(timezone="America/New_York"))
    source = ReplaySource(history(), visible=310)
    c.child_pipeline = lambda ctx, request, hooks: run_pipeline(replace(ctx, sources=[source]), request, hooks)  # in-process
    c.scheduler.start(paused=True)
    yield c
    c.scheduler.shutdown(wait=False)
    engine.dispose()


def test_bootstrap_publishes_live_rows_and_backfills_replayed_ones_once(clock):
    [result] = clock.first_start()
    assert result.result is not None and result.result.status == "succeeded"
    rows = ledger.load_ledger(clock.ctx.engine, "AAPL")
    live, replayed = rows[rows.kind == "live"], rows[rows.kind == "replayed"]
    assert len(live) == 15 and live.actual.isna().all()  # the first models' forecasts, still in the future
    assert not replayed.empty and replayed.actual.notna().any() and replayed.model_id.isna().all()
    # three days are three origins, the newest three, each served by every cell
    assert sorted(replayed.origin.dt.date.unique()) == [history().index[i].date() for i in (307, 308, 309)]
    assert len(replayed) == 3 * 3 * 5 and set(replayed.cell) == {"simplernn", "lstm", "gru"}
    before = len(rows)
    clock.first_start()  # a restart: the bootstrap run has nothing new and the backfill is not repeated
    assert len(ledger.load_ledger(clock.ctx.engine, "AAPL")) == before


def test_no_bootstrap_backfill_when_turned_off_or_when_the_clock_only_queues(clock):
    assert bootstrap_backfill(clock.ctx, 0) == []
    queued = JobContext(settings=replace(clock.ctx.settings, redis_url="redis://127.0.0.1:6379/14"),
                        engine=clock.ctx.engine, now=clock.ctx.now)
    assert bootstrap_backfill(queued, 3) == []
    assert not ledger.has_rows(clock.ctx.engine, "AAPL")
