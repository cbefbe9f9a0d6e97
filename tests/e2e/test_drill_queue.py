"""Fault and scale-out drills with Celery: real processes, real Redis and Postgres.

- a worker killed with ``kill -9`` mid-task: the task is redelivered (late
  acknowledgement), takes the dead worker's silent claim back (re-queued once), waits for
  its lease; the dead run is marked failed, its lease is taken over, and nothing
  half-written is served;
- the end-to-end shape: web, clock and worker on the machine's Postgres and Redis;
  the clock's bootstrap fans out one task per ticker, a nightly run is triggered,
  the worker trains and the web serves the new champion.

Drills that stop a service use a private ``redis-server`` on a spare port.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from contract.outputs import OUTPUT_NAMES
from tests.support.services import ROOT, fresh_postgres
from tests.support.private_services import private_redis

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


def celery_bin() -> str:
    return str(ROOT / ".venv" / "bin" / "celery") if (ROOT / ".venv/bin/celery").exists() else \
        os.path.join(os.path.dirname(sys.executable), "celery")


def start_worker(env, log_path):
    log = open(log_path, "ab")
    return subprocess.Popen(
        [celery_bin(), "-A", "jobs.worker:celery_app", "worker", "--pool=solo", "--concurrency=1",
         "--loglevel=INFO", "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )


def jobs(*args, env, timeout=300):
    return subprocess.run([sys.executable, "-m", "jobs", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def wait_for(predicate, timeout, what, logs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    tails = "".join(f"\n--- {p.name} (last lines) ---\n" + "\n".join(
        line for line in p.read_text(errors="replace").splitlines() if "step" not in line)[-3000:]
        for p in logs if p.exists())
    pytest.fail(f"timed out after {timeout}s waiting for {what}{tails}")


def runs(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text("select id, ticker, status, progress, error from runs order by id")).all()


@pytest.fixture
def pg_url(postgres_database):
    """An empty database on the machine's Postgres."""
    return fresh_postgres(postgres_database)


def no_partial_models(engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "select m.id from models m left join model_outputs o on o.model_id = m.id "
            f"group by m.id having count(o.name) <> {len(OUTPUT_NAMES)}")).all() == []


def lease_expires_in(engine, seconds: float) -> int:
    with engine.begin() as conn:
        return conn.execute(sa.text(
            "update leases set expires_at = now() + make_interval(secs => :s) where name = 'training:AAPL'"),
            {"s": seconds}).rowcount


def test_worker_killed_mid_task_is_redelivered_and_recovered(pg_url, tmp_path):
    """A worker killed mid-task: Redis redelivers the task a visibility timeout after its
    first delivery, and the new worker finishes it. A worker that dies late in a long run
    leaves a lease that outlives the redelivery; the drill sets up that race for sure (the
    dead worker's lease is made to expire just after the redelivery), and the task must
    take the dead claim back and wait for the lease, not be refused as "already claimed" or "a run
    in progress" and acknowledged (lost).
    The visibility timeout stays well above the wait plus the run, as in production (an
    hour), or Redis would hand out the waiting task a second time: the retried message is
    fetched at about 90 s and must finish by about 180 s; the run takes 10-30 s."""
    visibility_s = 90
    logs = (tmp_path / "worker1.log", tmp_path / "worker2.log")
    with private_redis(tmp_path) as redis:
        env = {**os.environ, "DATABASE_URL": pg_url, "REDIS_URL": redis.url, "PRICE_SOURCE": "offline",
               "DATA_DIR": str(tmp_path / "data"), "LEASE_TTL_SECONDS": "8",
               "CELERY_VISIBILITY_TIMEOUT": str(visibility_s)}
        assert jobs("init", env=env).returncode == 0
        engine = sa.create_engine(pg_url)
        first = start_worker(env, logs[0])
        try:
            queued = jobs("nightly", "--queue", "--action", "retrain", "--cells", "gru", "--epochs", "40", env=env)
            assert queued.returncode == 0, queued.stderr
            assert "queued" in queued.stdout
            delivered = time.monotonic()  # the worker is idle, so it takes the task at once
            wait_for(lambda: any(r.status == "running" and r.progress > 0.15 for r in runs(engine)), 180,
                     "the worker to be training", logs)
            os.killpg(first.pid, signal.SIGKILL)  # kill -9, no warm shutdown, no ack
            first.wait()
        finally:
            if first.poll() is None:
                os.killpg(first.pid, signal.SIGKILL)
        # While no worker runs, the dead run still looks "running"; nothing new is served.
        assert no_partial_models(engine)
        second = start_worker(env, logs[1])
        try:
            time.sleep(max(0.0, delivered + visibility_s - 3 - time.monotonic()))
            # Live past the redelivery: workers look for lost tasks every visibility_s // 10 = 9 s.
            assert lease_expires_in(engine, 20) == 1  # the dead worker's lease
            # Late acknowledgement: the task comes back, waits for the lease to expire,
            # takes it over and fails the dead run.
            done = wait_for(lambda: [r for r in runs(engine) if r.status == "succeeded"] or None, 240,
                            "the redelivered task to succeed", logs)
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(30)
        all_runs = runs(engine)
        assert all_runs[0].status == "failed" and "process" in all_runs[0].error.lower()
        assert len(done) == 1 and len(all_runs) == 2, all_runs
        assert "requeued: worker:" in logs[1].read_text()  # the redelivered message took the dead claim back
        assert "waits for the AAPL training lease held by" in logs[1].read_text()
        with engine.connect() as conn:
            request = conn.execute(sa.text("select status, run_id, requeues_left, outcome from run_requests")).one()
        assert (request.status, request.run_id, request.requeues_left) == ("ended", done[0].id, 0), request
        assert no_partial_models(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.text("select count(*) from leases where expires_at > now()")).scalar() == 0
        engine.dispose()


def champions(engine):
    with engine.connect() as conn:
        return {(t, c): v for t, c, v in conn.execute(sa.text(
            "select c.ticker, c.cell, m.version from champions c join models m on m.id = c.model_id"))}


def test_web_clock_and_worker_on_postgres_and_redis(pg_url, redis_url, tmp_path):
    """The Procfile for real: the clock bootstraps via the queue, a nightly run is
    fanned out per ticker, the worker trains, and the web serves the new champion."""
    from scripts.web_server import WebServer
    from tests.support.http_dash import page

    env = {**os.environ, "DATABASE_URL": pg_url, "REDIS_URL": redis_url, "PRICE_SOURCE": "offline",
           "TICKERS": "AAPL,MSFT", "PIPELINE_EPOCHS": "2", "DATA_DIR": str(tmp_path / "data"),
           "CACHE_DIR": str(tmp_path / "cache"), "LEASE_TTL_SECONDS": "30"}
    assert jobs("migrate", env=env).returncode == 0  # the Procfile's release step
    engine = sa.create_engine(pg_url)
    worker = start_worker(env, tmp_path / "worker.log")
    clock = subprocess.Popen([sys.executable, "-m", "jobs", "clock"], cwd=ROOT, env=env,
                             stdout=open(tmp_path / "clock.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with WebServer({k: v for k, v in env.items()}, workers=2, log_path=tmp_path / "web.log") as web:
            # Fresh store: the clock seeds prices and queues a first training per ticker.
            wait_for(lambda: {("AAPL", "gru"), ("MSFT", "gru")} <= set(champions(engine)), 300,
                     "the bootstrap trainings on the worker")
            assert clock.poll() is None, (tmp_path / "clock.log").read_text()[-2000:]
            before = champions(engine)

            nightly = jobs("nightly", "--queue", "--action", "retrain", "--cells", "gru", "--wait", "300", env=env)
            assert nightly.returncode == 0, nightly.stdout + nightly.stderr
            assert nightly.stdout.count("succeeded") == 2, nightly.stdout

            after = champions(engine)
            # Same seed, same data: the retrained GRU is not worse, so it is promoted.
            for ticker in ("AAPL", "MSFT"):
                assert after[(ticker, "gru")] == before[(ticker, "gru")] + 1
                shown = wait_for(lambda t=ticker: f"GRU v{after[(t, 'gru')]}" in page(web.url, "/", f"?ticker={t}").text,
                                 30, f"the web to show {ticker}'s new champion")
                assert shown
            with engine.connect() as conn:
                triggers = {r[0] for r in conn.execute(sa.text("select distinct trigger from runs"))}
            assert {"bootstrap", "manual"} <= triggers
            assert "Task forecast.run_request" in (tmp_path / "worker.log").read_text()  # the worker did the training
    finally:
        for proc in (clock, worker):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in (clock, worker):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        engine.dispose()
