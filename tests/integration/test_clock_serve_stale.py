"""The clock's minute job decides from the store alone when to serve (issue 19, point 1).

The serve itself is stood in for by a recorder (the real child is exercised by
``tests/e2e/test_serve_after_upload.py``); the store is real SQLite and Postgres.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from config.settings import load_settings
from jobs.clock import QUEUED_SERVE_GRACE_S, Clock
from jobs.context import JobContext
from jobs.serve import ServeResult
from store import lease as leases
from store.times import utc_now
from tests.support.ledger import NOW, save_model, store_prices, stale_champion
from tests.support.pipeline import history


class Recorder:
    """Stands in for ``serve_in_child``: records the tickers asked for, answers with ``failed`` cells."""

    def __init__(self, failed: tuple[str, ...] = ()):
        self.calls: list[list[str]] = []
        self.failed = failed

    def __call__(self, ctx, tickers):
        self.calls.append(list(tickers))
        return [ServeResult(t, history().index[-1].date(), (), (), self.failed) for t in tickers]


def _clock(engine, serve, now=utc_now, **env: str) -> Clock:
    ctx = JobContext(settings=load_settings(env), engine=engine, now=now)
    return Clock(ctx, scheduler=BackgroundScheduler(timezone="UTC"), serve=serve)


@pytest.fixture
def stale(engine):
    """A GRU champion forecasting from the close before the newest stored one."""
    return stale_champion(engine, history().iloc[-40:])


def test_a_current_champion_starts_no_child(engine):
    """Every champion forecasts from the newest close: a store read, no serve."""
    frame = history().iloc[-40:]
    store_prices(engine, frame)
    save_model(engine, "gru", frame, 0.0)
    serve = Recorder()
    assert _clock(engine, serve).serve_stale() == [] and serve.calls == []


def test_a_stale_champion_is_served_and_a_failed_close_is_not_retried_every_minute(stale):
    """Stale: served. A cell that failed on this close is left until a newer close arrives."""
    serve = Recorder(failed=("gru",))
    clock = _clock(stale, serve)
    assert [r.ticker for r in clock.serve_stale()] == ["AAPL"] and serve.calls == [["AAPL"]]
    assert clock.serve_stale() == [] and serve.calls == [["AAPL"]]  # the next minute: not again


def test_a_ticker_held_by_a_training_run_is_left_to_the_run(stale):
    """A run holds the ticker's training lease: it serves as it ends, so the clock does not."""
    leases.acquire(stale, holder="a-run", ttl_s=60, name=leases.training_lease("AAPL"))
    serve = Recorder()
    assert _clock(stale, serve).serve_stale() == [] and serve.calls == []


def test_with_a_queue_the_clock_waits_for_the_workers_task_then_serves(stale):
    """REDIS_URL: a close stored moments ago is the worker's to serve; past the grace the clock serves it."""
    serve = Recorder()
    soon = _clock(stale, serve, now=lambda: NOW + timedelta(seconds=5), REDIS_URL="redis://127.0.0.1:6379/10")
    assert soon.serve_stale() == [] and serve.calls == []  # the upload's task is due
    late = replace(soon.ctx, now=lambda: NOW + timedelta(seconds=QUEUED_SERVE_GRACE_S + 1))
    assert _clock(stale, serve, now=late.now, REDIS_URL="redis://127.0.0.1:6379/10").serve_stale()
    assert serve.calls == [["AAPL"]]  # the message was lost: the clock served


@pytest.mark.parametrize("ticker, held, says", [
    ("ZZZZ", False, "ZZZZ: not served: --ticker ZZZZ is not configured; TICKERS has AAPL"),
    ("AAPL", True, "AAPL: left to the training run in progress (a run serves as it ends)"),
])
def test_the_serve_task_refuses_in_one_line_and_leaves_a_leased_ticker_to_its_run(stale, database_url, monkeypatch,
                                                                                  tmp_path, ticker, held, says):
    """The worker's serve task never raises: an unknown ticker or a running training is its one returned line."""
    from jobs.tasks import serve_ticker_task

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TICKERS", raising=False)
    if held:
        leases.acquire(stale, holder="a-run", ttl_s=60, name=leases.training_lease("AAPL"))
    assert serve_ticker_task(ticker) == says
