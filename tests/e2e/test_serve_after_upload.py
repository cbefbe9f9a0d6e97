"""After an admin-page upload the forecast from the new close arrives without a nightly (issue 19, point 1).

Real processes: ``python -m jobs clock`` serves a stale champion in a child within its
minute; with REDIS_URL a real Celery worker runs the serve task the upload sent.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date

import pandas as pd
import pytest

from config.settings import load_settings
from contract.vocab import CELLS
from dashboard.admin import actions
from dashboard.admin.csv_import import import_upload
from store import lease as leases, ledger, registry
from store.db import create_schema, make_engine
from store.times import utc_now
from tests.e2e.test_drill_queue import start_worker, wait_for
from tests.integration.test_import_serves import train_holding_back
from tests.integration.test_ledger_record import _upload
from tests.support.services import ROOT, fresh_postgres

pytestmark = [pytest.mark.e2e, pytest.mark.slow]



SERVE_WITHIN_S = 60 + 120  # the clock's period, then a child that starts TensorFlow on a loaded machine


def _env(url: str, tmp_path, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "PRICE_SOURCE": "offline", "DATA_DIR": str(tmp_path / "data"),
            "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def _served_from(engine, day: date) -> bool:
    return set(registry.champion_forecast_origins(engine, "AAPL").values()) == {day}


def _live_rows(engine, day: date) -> dict[str, int]:
    rows = ledger.load_ledger(engine, "AAPL")
    rows = rows[(rows.origin == pd.Timestamp(day)) & (rows.kind == "live")]
    return {str(c): int(n) for c, n in rows.groupby("cell").size().items()}


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_the_clock_serves_a_stale_champion_after_an_upload(sqlite_url, tmp_path):
    """A running clock; an upload of the next close; within the clock's minute every champion serves from it."""
    engine = make_engine(sqlite_url)
    create_schema(engine)
    day = train_holding_back(engine, tmp_path / "data", 1)
    log_path = tmp_path / "clock.log"
    clock = subprocess.Popen([sys.executable, "-m", "jobs", "clock"], cwd=ROOT, env=_env(sqlite_url, tmp_path),
                             stdout=open(log_path, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: leases.current_lease(engine, leases.CLOCK_LEASE, live=True), 60, "the clock's lease",
                 logs=[log_path])
        message = import_upload(engine, _upload(day), "day.csv", "AAPL", utc_now())  # what the admin page does
        assert "1 new" in message and actions.serve_due(engine, "AAPL")
        said = actions.request_serve(load_settings({"DATABASE_URL": sqlite_url}), engine, "AAPL")
        assert said == "The forecast from the new close is on its way: the clock serves every champion within a minute."
        started = time.monotonic()
        wait_for(lambda: _served_from(engine, day.index[0].date()), SERVE_WITHIN_S, "the clock's serve",
                 logs=[log_path])
        print(f"served {time.monotonic() - started:.0f}s after the upload")
        # the clock's job reports once its child returned (the forecast is stored, then published)
        wait_for(lambda: "serve-stale AAPL: served" in log_path.read_text(), 60, "the job's line", logs=[log_path])
        assert _live_rows(engine, day.index[0].date()) == {c: 5 for c in CELLS}  # published, h=1..5 per cell
        assert "nightly-pipeline AAPL" not in log_path.read_text()
    finally:
        _stop(clock)
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.redis
def test_a_worker_serves_when_the_upload_sends_the_task(postgres_database, redis_url, tmp_path):
    """REDIS_URL and a real Celery worker, no clock: the task the upload sent serves every champion."""
    url = fresh_postgres(postgres_database)
    engine = make_engine(url)
    create_schema(engine)
    day = train_holding_back(engine, tmp_path / "data", 1)
    log_path = tmp_path / "worker.log"
    worker = start_worker(_env(url, tmp_path, REDIS_URL=redis_url), log_path)
    try:
        import_upload(engine, _upload(day), "day.csv", "AAPL", utc_now())
        said = actions.request_serve(load_settings({"DATABASE_URL": url, "REDIS_URL": redis_url}), engine, "AAPL")
        assert said == "The forecast from the new close is on its way: a worker is serving every champion now."
        wait_for(lambda: _served_from(engine, day.index[0].date()), 180, "the worker's serve", logs=[log_path])
        # The forecasts are stored first, then published: the task's line is logged after both. (Reading the
        # ledger as soon as the forecasts showed lost that race once on a loaded machine.)
        wait_for(lambda: "serve task: AAPL: served" in log_path.read_text(), 30, "the task's line", logs=[log_path])
        assert _live_rows(engine, day.index[0].date()) == {c: 5 for c in CELLS}
    finally:
        _stop(worker)
        engine.dispose()
