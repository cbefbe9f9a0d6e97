"""A run task, delivered once or again: it names a run request, and the request decides.

Redis redelivers a task a visibility timeout after its first delivery when its worker died;
the dead worker's claim and lease outlive it for a TTL. The task must neither run a request
twice nor lose it: a request claimed by a live executor is left alone (refused, acknowledged),
one whose executor fell silent is taken back and waits for the dead run's lease to expire, then
runs. The real task runs here (Celery's eager ``apply``) on a real store; the pipeline itself is
run by the queue drills (tests/e2e/test_drill_queue.py).
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest

from config.celery_app import make_celery
from config.settings import load_settings
from contract.run import RunRequest, RunResult, TickerOutcome, TickerState
from contract.vocab import RunStatus
from jobs.tasks import TASK_NAME, register_tasks
from store import lease as leases, run_requests, runs

AAPL = leases.training_lease("AAPL")


def _now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture
def worker_env(tmp_path, monkeypatch, sqlite_url):
    """The worker's settings in the environment, as a worker process has them."""
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PRICE_SOURCE", "offline")
    monkeypatch.setenv("LEASE_TTL_SECONDS", "2")
    from store.db import create_schema, make_engine

    engine = make_engine(sqlite_url)
    create_schema(engine)
    yield engine
    engine.dispose()


def _task(request_id):
    app = make_celery(load_settings({"REDIS_URL": "redis://127.0.0.1:1/0"}))  # never reached: eager
    register_tasks(app)
    return TickerOutcome.from_json(app.tasks[TASK_NAME].apply(args=[request_id]).get())


def _queue(engine) -> int:
    return run_requests.add(engine, RunRequest.build("AAPL", action="retrain", epochs=2, requested_by="ui:boss"), _now())


def test_a_message_naming_no_request_is_refused_without_a_run(worker_env):
    for made_up in (9999, "1", {"ticker": "AAPL"}):
        outcome = _task(made_up)
        assert outcome.state is TickerState.REFUSED and "there is no run request" in outcome.message
    assert runs.list_runs(worker_env) == []


def test_a_second_delivery_leaves_a_live_claim_alone(worker_env):
    request_id = _queue(worker_env)
    assert run_requests.claim(worker_env, request_id, "worker:alive", _now())
    outcome = _task(request_id)
    assert outcome.state is TickerState.REFUSED and "already claimed by another executor" in outcome.message
    assert run_requests.get(worker_env, request_id).claimed_by == "worker:alive"
    assert runs.list_runs(worker_env) == []


def test_a_cancelled_request_is_never_started(worker_env):
    request_id = _queue(worker_env)
    assert run_requests.cancel(worker_env, request_id, "cli:ops", _now(), verb="dropped")
    outcome = _task(request_id)
    assert outcome.state is TickerState.REFUSED and outcome.message == f"run request #{request_id} was dropped by cli:ops"
    assert runs.list_runs(worker_env) == []


def test_a_redelivered_task_takes_back_a_dead_claim_and_waits_for_the_dead_lease(worker_env, monkeypatch, caplog):
    """The dead worker's claim went silent and its lease is still live: the task re-queues the
    request (the sweep), waits for the lease to expire, then claims and runs it, once."""
    import time

    import jobs.run

    request_id = _queue(worker_env)
    assert run_requests.claim(worker_env, request_id, "worker:dead", _now())
    leases.acquire(worker_env, holder="worker:dead-run", ttl_s=4, name=AAPL)
    time.sleep(2.5)  # the claim's heartbeat is older than LEASE_TTL_SECONDS; the lease has ~1.5 s left
    ran: list[RunRequest] = []

    def pipeline(_ctx, request, _hooks=None) -> RunResult:  # the training itself is the drills' to run
        assert leases.current_lease(worker_env, AAPL, live=True) is None  # it waited for the dead lease
        ran.append(request)
        return RunResult(run_id=5, ticker=request.ticker, status=RunStatus.SUCCEEDED, trigger=request.trigger,
                         action=request.action, requested_by=request.requested_by, message="trained")

    monkeypatch.setattr(jobs.run, "run_pipeline", pipeline)
    with caplog.at_level(logging.INFO):
        outcome = _task(request_id)
    assert outcome.state is TickerState.RAN and outcome.result.run_id == 5 and len(ran) == 1
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert f"run request #{request_id} requeued: worker:dead" in logged
    assert f"run request #{request_id} waits for the AAPL training lease held by worker:dead-run" in logged
    stored = run_requests.get(worker_env, request_id)
    assert stored.status == "ended" and stored.run_id == 5 and stored.claimed_by.startswith("worker:")
