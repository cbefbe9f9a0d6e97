"""A claimed request whose executor was killed (``kill -9``: no heartbeat, nothing recorded) is
swept once: a queued request is re-queued once and runs again, then ended if its executor dies
again; a request its requester ran in the foreground (the CLI) is ended, never run behind its
back. Real processes killed for real, on SQLite and Postgres."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest

from config.settings import load_settings
from contract.run import RunRequest, RunResult
from contract.vocab import RunStatus
from jobs.context import JobContext
from jobs.requests import execute_request
from store import run_requests
from tests.support.services import ROOT

TTL_S = 2  # LEASE_TTL_SECONDS: the executor heartbeats every TTL/4; silent for a TTL, it is swept

# An executor in its own process: it claims request ARGV[2] (or records its own, claimed, with
# ARGV[2] == "own") and "runs" it for a minute, heartbeating, until it is killed.
EXECUTOR = """
import sys, time
from jobs.context import build_context
from jobs.requests import execute_request, record_and_run
from contract.run import RunRequest

def forever(ctx, request):
    print("running", flush=True)
    time.sleep(60)

ctx = build_context()
if sys.argv[2] == "own":
    record_and_run(ctx, RunRequest.build("AAPL", action="retrain", cells=["gru"], epochs=1, requested_by="cli:dev"),
                   forever, sys.argv[1])
else:
    execute_request(ctx, int(sys.argv[2]), sys.argv[1], run=forever, poll_s=0.1)
"""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _killed_mid_run(database_url: str, claimer: str, request: str) -> None:
    """Start an executor process, wait until its run is under way, kill -9 it."""
    env = {**os.environ, "DATABASE_URL": database_url, "LEASE_TTL_SECONDS": str(TTL_S), "PRICE_SOURCE": "offline"}
    proc = subprocess.Popen([sys.executable, "-c", EXECUTOR, claimer, request], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "running", proc.stderr.read()
        time.sleep(TTL_S / 2)  # a heartbeat or two
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _sweep_when_silent(engine) -> list:
    time.sleep(TTL_S + 0.5)
    return run_requests.sweep(engine, TTL_S, _now())


def test_a_killed_executors_request_is_requeued_once_then_ended(engine, database_url):
    request_id = run_requests.add(engine, RunRequest.build("AAPL", action="retrain", cells=["gru"], epochs=1,
                                                           requested_by="ui:boss"), _now())
    _killed_mid_run(database_url, "worker:first", str(request_id))
    stored = run_requests.get(engine, request_id)
    assert stored.status == "claimed" and stored.claimed_by == "worker:first" and stored.heartbeat_at is not None
    assert run_requests.sweep(engine, TTL_S * 10, _now()) == []  # not silent for long enough yet
    swept = _sweep_when_silent(engine)
    assert [(r.id, how) for r, how in swept] == [(request_id, "requeued")]
    assert _sweep_when_silent(engine) == []  # once
    stored = run_requests.get(engine, request_id)
    assert stored.status == "queued" and stored.requeues_left == 0
    assert stored.outcome.startswith("re-queued at ") and "its executor worker:first fell silent" in stored.outcome

    _killed_mid_run(database_url, "worker:second", str(request_id))  # the re-queued request is claimed, and dies again
    assert [(r.id, how) for r, how in _sweep_when_silent(engine)] == [(request_id, "ended")]
    stored = run_requests.get(engine, request_id)
    assert stored.status == "ended" and stored.finished_at is not None
    assert stored.outcome.startswith("ended, not run again: its executor worker:second fell silent")


def test_a_killed_command_lines_own_request_is_ended_not_rerun(engine, database_url):
    _killed_mid_run(database_url, "cli:dev:host:1", "own")
    (stored,) = run_requests.pending(engine)
    assert stored.status == "claimed" and stored.requeues_left == 0 and stored.request.requested_by == "cli:dev"
    assert [how for _r, how in _sweep_when_silent(engine)] == ["ended"]
    assert run_requests.pending(engine) == [] and run_requests.queued(engine) == []


def test_a_redelivered_message_sweeps_the_dead_claim_and_runs_the_request(engine, database_url):
    """No clock needed: the executor handed a request claimed by a silent one takes the claim back, then runs it."""
    request_id = run_requests.add(engine, RunRequest.build("AAPL", action="retrain", cells=["gru"], epochs=1,
                                                           requested_by="ui:boss"), _now())
    _killed_mid_run(database_url, "worker:dead", str(request_id))
    time.sleep(TTL_S + 0.5)
    ctx = JobContext(settings=load_settings({"DATABASE_URL": database_url, "LEASE_TTL_SECONDS": str(TTL_S)}),
                     engine=engine)

    def run(_ctx, request: RunRequest) -> RunResult:
        return RunResult(run_id=7, ticker=request.ticker, status=RunStatus.SUCCEEDED, trigger=request.trigger,
                         action=request.action, requested_by=request.requested_by, message="trained")

    assert execute_request(ctx, request_id, "worker:redelivered", run=run, poll_s=0.05).run_id == 7
    stored = run_requests.get(engine, request_id)
    assert (stored.status, stored.claimed_by, stored.run_id) == ("ended", "worker:redelivered", 7)


@pytest.mark.parametrize("silent_s", [TTL_S])
def test_a_live_executor_is_never_swept(engine, silent_s):
    """Heartbeats keep a long run's claim: the sweep leaves it alone however long it runs."""
    request_id = run_requests.add(engine, RunRequest.build("AAPL", requested_by="clock"), _now(), claimer="clock:x")
    for _ in range(3):
        time.sleep(silent_s * 0.6)
        assert run_requests.heartbeat(engine, request_id, "clock:x")
        assert run_requests.sweep(engine, silent_s, _now()) == []
    assert not run_requests.heartbeat(engine, request_id, "clock:intruder")
