"""A redelivered Celery task and the lease of the worker that died holding it.

Redis redelivers a task a visibility timeout after its first delivery; the dead
worker's lease expires a TTL after its last heartbeat. When the task comes back
first, it must wait for the lease, not be refused as "a run is in progress" and
acknowledged, which would lose the work. The real task runs here (Celery's eager
``apply``) on a real store; the pipeline itself is run by the queue drills.
"""
from __future__ import annotations

import logging
import time
from types import SimpleNamespace
from datetime import datetime, timedelta, timezone

import pytest

from config.celery_app import make_celery
from config.settings import load_settings
from contract.run import RunRequest, TickerOutcome, TickerState
from jobs.context import JobContext
from jobs.tasks import LEASE_RETRIES, TASK_NAME, lease_retry_countdown, redelivered, register_tasks
from store import lease as leases
from store import runs
from tests.support.aging import expire_lease

T0 = datetime(2026, 3, 6, 23, 30, tzinfo=timezone.utc)
AAPL = leases.training_lease("AAPL")


def context(engine, now=T0) -> JobContext:
    """A worker's context; its ``now`` plays no part in lease decisions (the database's clock does)."""
    return JobContext(settings=load_settings({}), engine=engine, now=lambda: now)


def test_a_redelivered_task_waits_until_a_dead_workers_lease_expires(engine):
    leases.acquire(engine, holder="dead-worker", ttl_s=8, name=AAPL)
    wait_s, seen = lease_retry_countdown(context(engine), "AAPL", redelivered=True, retries=0)
    assert wait_s == pytest.approx(9.0, abs=1.0)  # up to 8 s of lease left, and one past its expiry
    assert seen["holder"] == "dead-worker"
    # A worker whose own clock is 10 minutes ahead (or behind) waits just as long: one clock decides.
    for skew in (timedelta(minutes=10), -timedelta(minutes=10)):
        skewed = context(engine, now=datetime.now(timezone.utc) + skew)
        assert lease_retry_countdown(skewed, "AAPL", redelivered=True, retries=1, seen=seen)[0] == pytest.approx(
            wait_s, abs=1.0)
    # The retry finds the lease expired: it runs (and the pipeline takes the lease over).
    expire_lease(engine, AAPL)
    assert lease_retry_countdown(context(engine), "aapl", redelivered=True, retries=1, seen=seen) is None


def test_a_lease_renewed_or_taken_while_waiting_is_a_live_run_that_refuses_the_task(engine):
    leases.acquire(engine, holder="slow-but-alive", ttl_s=8, name=AAPL)
    _, seen = lease_retry_countdown(context(engine), "AAPL", redelivered=True, retries=0)
    time.sleep(0.05)  # the renewal moves expires_at on, however fine the store's clock
    assert leases.renew(engine, holder="slow-but-alive", ttl_s=8, name=AAPL)
    assert lease_retry_countdown(context(engine), "AAPL", True, 1, seen) is None
    leases.release(engine, holder="slow-but-alive", name=AAPL)
    leases.acquire(engine, holder="another-run", ttl_s=8, name=AAPL)
    assert lease_retry_countdown(context(engine), "AAPL", True, 1, seen) is None


def test_a_first_delivery_or_a_free_lease_runs_at_once(engine):
    assert lease_retry_countdown(context(engine), "AAPL", redelivered=True, retries=0) is None
    leases.acquire(engine, holder="live", ttl_s=60, name=AAPL)
    # A first delivery meeting a live run is refused by the pipeline as before.
    assert lease_retry_countdown(context(engine), "AAPL", redelivered=False, retries=0) is None
    # Another ticker's lease is not this ticker's.
    assert lease_retry_countdown(context(engine), "MSFT", redelivered=True, retries=0) is None
    # An expired lease is taken over by the run itself.
    expire_lease(engine, AAPL)
    assert lease_retry_countdown(context(engine), "AAPL", redelivered=True, retries=0) is None


def test_a_task_out_of_retries_runs_and_is_refused_by_a_live_lease(engine):
    leases.acquire(engine, holder="live", ttl_s=60, name=AAPL)
    assert lease_retry_countdown(context(engine), "AAPL", redelivered=True, retries=LEASE_RETRIES) is None


def celery_request(**fields):
    return SimpleNamespace(request=SimpleNamespace(**{"delivery_info": None, "retries": 0, **fields}))


def test_redelivery_is_read_from_the_message_kombu_restored_or_from_a_retry():
    # kombu's Redis transport marks a restored message delivery_info["redelivered"] = True.
    assert redelivered(celery_request(delivery_info={"redelivered": True, "exchange": ""}))
    assert redelivered(celery_request(delivery_info={"exchange": ""}, retries=1))
    assert not redelivered(celery_request(delivery_info={"redelivered": False}))
    assert not redelivered(celery_request())


@pytest.fixture
def worker_env(tmp_path, monkeypatch, sqlite_url):
    """The worker's settings in the environment, as a worker process has them."""
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PRICE_SOURCE", "offline")
    from store.db import create_schema, make_engine

    engine = make_engine(sqlite_url)
    create_schema(engine)
    yield engine
    engine.dispose()


def test_the_task_retries_on_a_held_lease_then_is_refused_without_a_run(worker_env, caplog):
    """Eagerly, Celery runs each retry at once (no countdown), so a lease that stays held and
    unrenewed shows the whole path: the waits up to LEASE_RETRIES, then the pipeline's usual
    refusal. Eager ``apply`` cannot mark a message redelivered, so the task starts as a first
    retry (``retries=1``), which the task treats the same way."""
    leases.acquire(worker_env, holder="someone", ttl_s=600, name=AAPL)
    app = make_celery(load_settings({"REDIS_URL": "redis://127.0.0.1:1/0"}))  # never reached: eager
    register_tasks(app)
    message = RunRequest.build("AAPL", action="retrain", epochs=2).to_json()
    with caplog.at_level(logging.WARNING, logger="jobs.tasks"):
        answer = app.tasks[TASK_NAME].apply(args=[message], retries=1).get()
    outcome = TickerOutcome.from_json(answer)
    assert outcome.state is TickerState.REFUSED and "another training run" in outcome.message
    waits = [r.getMessage() for r in caplog.records if "waits" in r.getMessage()]
    assert len(waits) == LEASE_RETRIES - 1 and all(w.startswith("AAPL: redelivered task waits") for w in waits)
    assert runs.list_runs(worker_env) == []  # refused before anything was recorded
    assert leases.current_lease(worker_env, AAPL).holder == "someone"


def test_a_first_delivery_is_refused_at_once_by_a_live_run(worker_env, caplog):
    leases.acquire(worker_env, holder="someone", ttl_s=600, name=AAPL)
    app = make_celery(load_settings({"REDIS_URL": "redis://127.0.0.1:1/0"}))
    register_tasks(app)
    with caplog.at_level(logging.WARNING, logger="jobs.tasks"):
        answer = app.tasks[TASK_NAME].apply(args=[RunRequest.build("AAPL").to_json()]).get()
    assert TickerOutcome.from_json(answer).state is TickerState.REFUSED
    assert not [r for r in caplog.records if "waits" in r.getMessage()]
