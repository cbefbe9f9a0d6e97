"""Fault and scale-out drills with Celery: real processes, real Redis and Postgres.

- a worker killed with ``kill -9`` mid-task: the task is redelivered (late
  acknowledgement), the dead run is marked failed, its lease is taken over, and
  nothing half-written is served;
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

from tests.conftest import REDIS_URL, ROOT, _fresh_postgres, service_missing
from tests.private_services import private_redis

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


def celery_bin() -> str:
    return str(ROOT / ".venv" / "bin" / "celery") if (ROOT / ".venv/bin/celery").exists() else \
        os.path.join(os.path.dirname(sys.executable), "celery")


def start_worker(env, log_path):
    log = open(log_path, "ab")
    return subprocess.Popen(
        [celery_bin(), "-A", "dashboard.worker:celery_app", "worker", "--pool=solo", "--concurrency=1",
         "--loglevel=INFO", "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )


def jobs(*args, env, timeout=300):
    return subprocess.run([sys.executable, "-m", "jobs", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def runs(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text("select id, ticker, status, progress, error from runs order by id")).all()


@pytest.fixture
def pg_url(postgres_database):
    """An empty database on the machine's Postgres."""
    return _fresh_postgres(postgres_database)


def no_partial_models(engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "select m.id from models m left join model_outputs o on o.model_id = m.id "
            "group by m.id having count(o.name) <> 5")).all() == []


def test_worker_killed_mid_task_is_redelivered_and_recovered(pg_url, tmp_path):
    with private_redis(tmp_path) as redis:
        env = {**os.environ, "DATABASE_URL": pg_url, "REDIS_URL": redis.url, "PRICE_SOURCE": "offline",
               "DATA_DIR": str(tmp_path / "data"), "LEASE_TTL_SECONDS": "8", "CELERY_VISIBILITY_TIMEOUT": "12"}
        assert jobs("init", env=env).returncode == 0
        engine = sa.create_engine(pg_url)
        first = start_worker(env, tmp_path / "worker1.log")
        try:
            queued = jobs("nightly", "--queue", "--action", "retrain", "--epochs", "40", env=env)
            assert queued.returncode == 0, queued.stderr
            assert "queued" in queued.stdout
            wait_for(lambda: any(r.status == "running" and r.progress > 0.15 for r in runs(engine)), 180,
                     "the worker to be training")
            os.killpg(first.pid, signal.SIGKILL)  # kill -9, no warm shutdown, no ack
            first.wait()
        finally:
            if first.poll() is None:
                os.killpg(first.pid, signal.SIGKILL)
        # While no worker runs, the dead run still looks "running"; nothing new is served.
        assert no_partial_models(engine)
        second = start_worker(env, tmp_path / "worker2.log")
        try:
            # Late acknowledgement: the unacknowledged task comes back after the
            # visibility timeout, the expired lease is taken over, the dead run is failed.
            done = wait_for(lambda: [r for r in runs(engine) if r.status == "succeeded"] or None, 240,
                            "the redelivered task to succeed")
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(30)
        all_runs = runs(engine)
        assert all_runs[0].status == "failed" and "process" in all_runs[0].error.lower()
        assert len(done) == 1
        assert no_partial_models(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.text("select count(*) from leases where expires_at > now()")).scalar() == 0
        engine.dispose()
