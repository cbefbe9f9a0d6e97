"""A queued run request starts once and only once: raced claims, replayed starts, a second
executor, a cancel while it waits, a silent executor swept. On SQLite and on Postgres, over real
HTTP where the page is involved."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from config.settings import load_settings
from contract.run import RunRequest, RunResult
from contract.vocab import RunStatus
from dashboard import ids
from jobs.context import JobContext
from jobs.errors import RunInProgress
from jobs.requests import NotStarted, execute_request
from store import lease as leases, run_requests
from store.db import make_engine
from tests.adversarial.hostile import cancel_queued_body, outcome_body, post, queue_poll_body, response_text, start_body
from tests.support.dashboard_env import ADMIN
from tests.support.store_checks import store_state

pytestmark = pytest.mark.e2e


def _now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture
def ctx(store_url):
    """A job context on this module's store, and no request left queued after the test."""
    engine = make_engine(store_url)
    yield JobContext(settings=load_settings({"DATABASE_URL": store_url}), engine=engine)
    for waiting in run_requests.queued(engine):
        run_requests.cancel(engine, waiting.id, "test teardown", _now())
    engine.dispose()


def _queue(ctx: JobContext, ticker: str = "MSFT") -> int:
    return run_requests.add(ctx.engine, RunRequest.build(ticker, action="retrain", cells=["gru"], epochs=1,
                                                         requested_by="ui:boss"), _now())


class FakeRunner:
    """Stands in for the pipeline: counts the runs it was asked for; ``refuse`` times it says a
    run of the ticker holds the lease (a clock run that won the race after the executor looked)."""

    def __init__(self, refuse: int = 0, seconds: float = 0.0):
        self.calls: list[RunRequest] = []
        self.refuse, self.seconds = refuse, seconds
        self._lock = threading.Lock()

    def __call__(self, _ctx: JobContext, request: RunRequest) -> RunResult:
        with self._lock:
            if self.refuse:
                self.refuse -= 1
                raise RunInProgress("another training run is in progress")
            self.calls.append(request)
        time.sleep(self.seconds)
        return RunResult(run_id=99, ticker=request.ticker, status=RunStatus.SUCCEEDED, trigger=request.trigger,
                         action=request.action, requested_by=request.requested_by, message="trained")


def test_ten_racing_claims_of_one_request_give_one_winner(ctx):
    """The claim is the single-use guard: one conditional UPDATE, whichever process races it."""
    request_id = _queue(ctx)
    with ThreadPoolExecutor(10) as pool:
        won = list(pool.map(lambda k: run_requests.claim(ctx.engine, request_id, f"executor-{k}", _now()), range(10)))
    winners = [w for w in won if w is not None]
    assert len(winners) == 1 and winners[0].status == "claimed"
    assert run_requests.get(ctx.engine, request_id).claimed_by == winners[0].claimed_by
    assert run_requests.claim(ctx.engine, request_id, "late", _now()) is None
    # only the claimer can put it back or close it
    assert not run_requests.unclaim(ctx.engine, request_id, "executor-intruder")
    assert not run_requests.finish(ctx.engine, request_id, "executor-intruder", _now(), "forged outcome")
    assert not run_requests.cancel(ctx.engine, request_id, "ui:boss", _now())  # claimed: cancel the run instead
    assert run_requests.finish(ctx.engine, request_id, winners[0].claimed_by, _now(), "done", run_id=1)
    assert run_requests.get(ctx.engine, request_id).outcome == "done"


def test_two_executors_of_one_request_run_it_once(ctx):
    """A redelivered or replayed message is a second executor: it finds the request claimed."""
    request_id = _queue(ctx)
    runner = FakeRunner(seconds=0.5)
    outcomes: list[object] = []

    def execute(name: str) -> None:
        try:
            outcomes.append(execute_request(ctx, request_id, name, run=runner, poll_s=0.05))
        except NotStarted as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=execute, args=(f"executor-{k}",)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(runner.calls) == 1
    refused = sorted(o for o in outcomes if isinstance(o, str))
    assert len(refused) == 3 and all(o.startswith(f"run request #{request_id} was already ") for o in refused), refused
    stored = run_requests.get(ctx.engine, request_id)
    assert stored.status == "ended" and stored.run_id == 99 and "succeeded" in stored.outcome


def test_a_request_waits_for_a_held_lease_and_a_cancel_ends_the_wait(ctx):
    """While another run of the ticker holds its lease the request stays queued (nothing expires);
    cancelled meanwhile, it never starts."""
    request_id = _queue(ctx)
    name = leases.training_lease("MSFT")
    leases.acquire(ctx.engine, holder="clock-run", ttl_s=60, name=name)
    runner, result = FakeRunner(), []
    try:
        waiter = threading.Thread(target=lambda: result.append(_expect_not_started(ctx, request_id, runner)))
        waiter.start()
        time.sleep(1.0)
        assert run_requests.get(ctx.engine, request_id).status == "queued" and runner.calls == []
        assert run_requests.cancel(ctx.engine, request_id, "ui:boss", _now())
        waiter.join(10)
    finally:
        leases.release(ctx.engine, holder="clock-run", name=name)
    assert result == [f"run request #{request_id} was cancelled by ui:boss"] and runner.calls == []


def _expect_not_started(ctx: JobContext, request_id: int, runner: FakeRunner) -> str:
    with pytest.raises(NotStarted) as caught:
        execute_request(ctx, request_id, "executor", run=runner, poll_s=0.05)
    return str(caught.value)


def test_a_lease_taken_after_the_claim_puts_the_request_back_in_the_queue(ctx):
    """The lease was free when the executor looked but taken before its run: the request is
    unclaimed, waits again, and runs once."""
    request_id = _queue(ctx)
    runner = FakeRunner(refuse=2)
    result = execute_request(ctx, request_id, "executor", run=runner, poll_s=0.05)
    assert result.run_id == 99 and len(runner.calls) == 1
    assert run_requests.get(ctx.engine, request_id).status == "ended"


def test_a_replayed_start_queues_one_request_and_a_forged_id_starts_nothing(web, store_url, ctx):
    """The Start request posted twice queues one request per ticker; an id the client makes up
    names no request and starts nothing (it is only read); the page cancels the queued one."""
    first = post(web.url, start_body(ticker="MSFT")).json()["response"]
    request_id = first[ids.Admin.REQUEST]["data"]
    assert isinstance(request_id, int)
    again = response_text(post(web.url, start_body(ticker="MSFT")))
    assert f"Refused: MSFT request #{request_id} is already queued" in again and ids.Admin.REQUEST not in again
    queued = response_text(post(web.url, queue_poll_body("MSFT")))
    assert f"MSFT request #{request_id} (retrain, asked by ui:{ADMIN[0]}" in queued and "is queued, " in queued

    before = store_state(store_url)
    assert "Refused: run request id" in response_text(post(web.url, outcome_body({"request": {"request_id": request_id}})))
    assert f"there is no run request #{request_id + 1}" in response_text(post(web.url, outcome_body(request_id + 1)))
    assert store_state(store_url) == before  # still queued, nothing claimed, no run

    assert f"Cancelled MSFT request #{request_id}" in response_text(post(web.url, cancel_queued_body("MSFT")))
    assert "No MSFT run request is queued." in response_text(post(web.url, cancel_queued_body("MSFT")))
    assert run_requests.get(ctx.engine, request_id).status == "cancelled"


@pytest.mark.parametrize("made_up", [None, {}, {"sig": "x"}, "", "abc", True, 1.5, 0, -3, 2**40, [1]])
def test_made_up_request_ids_start_nothing(made_up, web, store_url):
    """Whatever a client puts in the request store, the outcome poll only reads, and refuses what is not an id."""
    before = store_state(store_url)
    r = post(web.url, outcome_body(made_up))
    assert r.status_code in (200, 204), r.text[:300]
    if r.status_code == 200:
        assert "Refused: run request id" in response_text(r), r.text[:300]
    assert store_state(store_url) == before


def test_an_hour_old_request_still_starts_once(store_url, ctx):
    """Was: "run ticket expired; press Start again" after 60 s in a busy queue. Now nothing expires
    while a request waits; the claim, not the clock, makes it single-use."""
    runner = FakeRunner()
    request_id = run_requests.add(ctx.engine, RunRequest.build("MSFT", action="retrain", cells=["gru"], epochs=1,
                                                               requested_by="ui:boss"),
                                  datetime.fromtimestamp(_now().timestamp() - 3600, timezone.utc))
    assert execute_request(ctx, request_id, f"worker:{ADMIN[0]}", run=runner, poll_s=0.05).run_id == 99
    with pytest.raises(NotStarted) as again:
        execute_request(ctx, request_id, "worker:late", run=runner, poll_s=0.05)
    assert str(again.value).startswith(f"run request #{request_id} was already run (run #99 MSFT succeeded")
    assert len(runner.calls) == 1 and run_requests.get(ctx.engine, request_id).claimed_by == f"worker:{ADMIN[0]}"
