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


def _jobs(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "LEASE_TTL_SECONDS": str(TTL_S), "PRICE_SOURCE": "offline"}
    return subprocess.run([sys.executable, "-m", "jobs", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def _row(listing: str, request_id: int) -> str:
    (line,) = [line for line in listing.splitlines() if line.split()[:1] == [str(request_id)]]
    return line


def test_jobs_queue_shows_a_killed_workers_request_waiting_for_redelivery_and_drop_removes_it(engine, database_url):
    """Issue 21's drill: a worker killed mid-task. `jobs queue` shows its request silent (claimed, no
    heartbeat), then, once swept, waiting for redelivery with its age and why; `queue drop` removes it
    with a record of who and when; a bad or spent id is one error line, exit 2, the queue unchanged."""
    from tests.support.cli import assert_one_error_line

    request_id = run_requests.add(engine, RunRequest.build("AAPL", action="retrain", cells=["gru"], epochs=1,
                                                           requested_by="ui:boss"), _now())
    _killed_mid_run(database_url, "worker:first", str(request_id))
    time.sleep(TTL_S + 0.5)
    silent = _row(_jobs(database_url, "queue").stdout, request_id)
    assert silent.split()[1:4] == ["AAPL", "retrain/manual", "silent"] and "claimed by worker:first" in silent, silent
    run_requests.sweep(engine, TTL_S, _now())  # what the clock does every minute (or a redelivered message)
    listed = _jobs(database_url, "queue")
    assert listed.returncode == 0, listed.stderr
    row = _row(listed.stdout, request_id)
    assert row.split()[1:5] == ["AAPL", "retrain/manual", "redelivery", "ui:boss"], row
    assert row.split()[5].endswith("s") and "re-queued at " in row and "worker:first fell silent" in row, row

    before = run_requests.get(engine, request_id)
    for bad, says in (("0", "argument ID: 0 is out of range"), ("abc", "argument ID"), (str(request_id + 99), f"no run request #{request_id + 99}")):
        assert_one_error_line(_jobs(database_url, "queue", "drop", bad), says)
    assert run_requests.get(engine, request_id) == before  # refused drops change nothing

    dropped = _jobs(database_url, "queue", "drop", str(request_id))
    assert dropped.returncode == 0, dropped.stderr
    assert f"dropped run request #{request_id} (AAPL retrain, asked by ui:boss); recorded as dropped by cli:" \
           in dropped.stdout
    stored = run_requests.get(engine, request_id)
    assert stored.status == "cancelled" and stored.finished_at is not None and "dropped by cli:" in stored.outcome
    assert _jobs(database_url, "queue").stdout.strip() == "the queue is empty: no run is waiting or running"
    assert_one_error_line(_jobs(database_url, "queue", "drop", str(request_id)), "no longer waiting")
