"""The executor of a queued run request (``store.run_requests``): wait, claim, run, record.

Every run is a request in the store first. The admin page and the clock queue one; the
executor gets it: a Celery worker with ``REDIS_URL`` (a task naming the request id waits in
Redis while the worker is busy), the clock's child process without (the clock looks at the
queue every few seconds: :func:`take_next`). Nothing expires while it waits. When the
executor gets it, the request still waits while another run of its ticker holds the
training lease (the page says behind which run), then is claimed, once: a replayed or
redelivered message finds it claimed and starts nothing. A request cancelled while it
waited is never started. The CLI records its own request already claimed and runs it in
the foreground (:func:`record_and_run`).

While it runs, the claimer heartbeats the claim (:func:`keeping_claim`); the clock's sweep
re-queues (once) or ends a claim whose executor fell silent (``store.run_requests.sweep``).
"""
from __future__ import annotations

import logging
import threading
import time
from functools import partial
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from contract.errors import Refusal
from contract.run import RunRequest, RunResult
from contract.vocab import RequestStatus
from store import lease as leases, run_requests
from store.db import best_effort, retry_on_outage
from store.run_requests import StoredRequest

from .context import JobContext
from .errors import RunInProgress
from .run import RunHooks, run_pipeline

log = logging.getLogger(__name__)

POLL_S = 1.0  # how often a waiting request looks at its lease and at a cancel

Runner = Callable[[JobContext, RunRequest], RunResult]
T = TypeVar("T")


class NotStarted(Refusal):
    """The request was not started: cancelled while it waited, already claimed, or unknown."""


def _store(ctx: JobContext, what: str, fn: Callable[[], T]) -> T:
    """``fn`` retried through a database outage for at most STORE_RETRY_SECONDS, as a run's own steps are."""
    return retry_on_outage(fn, what=what, budget_s=ctx.settings.schedule.store_retry_s)


def _still_queued(ctx: JobContext, stored: StoredRequest | None, request_id: int) -> StoredRequest:
    if stored is not None and stored.status is RequestStatus.CLAIMED:
        # A redelivered message whose first executor died: take the silent claim back (the sweep), then wait.
        for req, how in _store(ctx, "sweeping silent claims",
                               lambda: run_requests.sweep(ctx.engine, ctx.settings.schedule.lease_ttl_s, ctx.now())):
            log.warning("run request #%s %s: %s", req.id, how, req.claimed_by)
        stored = _store(ctx, "reading the run request", lambda: run_requests.get(ctx.engine, request_id))
    if stored is None:
        raise NotStarted(f"there is no run request #{request_id}")
    if stored.status is not RequestStatus.QUEUED:
        # A second copy of the message (a replay, a redelivery) may report after the first: say what became of it.
        why = {RequestStatus.CANCELLED: stored.outcome or "cancelled",
               RequestStatus.CLAIMED: "already claimed by another executor (its run is under way)",
               RequestStatus.ENDED: f"already run ({stored.outcome})"}[stored.status]
        raise NotStarted(f"run request #{request_id} was {why}")
    return stored


def _claim_when_free(ctx: JobContext, request_id: int, claimer: str, poll_s: float) -> StoredRequest:
    """Wait while the request's ticker is leased by another run, then claim it; NotStarted if it is
    cancelled or taken meanwhile."""
    seen = ""
    while True:
        stored = _still_queued(ctx, _store(ctx, "reading the run request",
                                           lambda: run_requests.get(ctx.engine, request_id)), request_id)
        name = leases.training_lease(stored.ticker)
        held = _store(ctx, "looking at the training lease", partial(leases.current_lease, ctx.engine, name, live=True))
        if held:
            if held.holder != seen:
                seen = held.holder
                log.info("run request #%s waits for the %s training lease held by %s", request_id, stored.ticker, seen)
            time.sleep(poll_s)
            continue
        claimed = _store(ctx, "claiming the run request",
                         lambda: run_requests.claim(ctx.engine, request_id, claimer, ctx.now()))
        if claimed is not None:
            return claimed
        # cancelled or claimed meanwhile: the next read says which


@contextmanager
def keeping_claim(ctx: JobContext, request_id: int, claimer: str) -> Iterator[None]:
    """Heartbeat the claim every LEASE_TTL_SECONDS / 4 while the body runs (a thread; best effort:
    a store outage shorter than the TTL costs nothing, a longer one lets the sweep take it back)."""
    stop = threading.Event()
    every = max(0.5, ctx.settings.schedule.lease_ttl_s / 4)

    def beat() -> None:
        while not stop.wait(every):
            best_effort(lambda: run_requests.heartbeat(ctx.engine, request_id, claimer),
                        what=f"heartbeating run request #{request_id}")

    thread = threading.Thread(target=beat, name=f"claim-{request_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _run_claimed(ctx: JobContext, claimed: StoredRequest, claimer: str, run: Runner) -> RunResult:
    """Run a claimed request, heartbeating it, and record how it ended (RunInProgress is left to the caller)."""
    request_id = claimed.id
    try:
        with keeping_claim(ctx, request_id, claimer):
            result = run(ctx, claimed.request)
    except RunInProgress:
        raise
    except BaseException as exc:  # a refusal, a store outage, a signal: the request says so, then it goes on
        _record_end(ctx, partial(run_requests.finish, ctx.engine, request_id, claimer, ctx.now(), f"not run: {exc}"))
        raise
    _record_end(ctx, partial(run_requests.finish, ctx.engine, request_id, claimer, ctx.now(), result.summary(),
                             run_id=result.run_id))
    log.info("run request #%s: %s", request_id, result.summary())
    return result


def _record_end(ctx: JobContext, finish: Callable[[], object]) -> None:
    """Record how a request ended, retried through a database outage like the claim (the heartbeat has
    stopped: an end not written would look silent and be re-queued, and a finished run would run twice);
    never raises, so an exception on its way out is not replaced by the store's."""
    best_effort(lambda: _store(ctx, "recording how the run request ended", finish),
                what="recording how the run request ended")


def execute_request(ctx: JobContext, request_id: int, claimer: str, run: Runner = run_pipeline,
                    poll_s: float = POLL_S) -> RunResult:
    """Wait until request ``request_id``'s ticker is free, claim it and run it; the run's result.

    NotStarted if it was cancelled, claimed by another executor, or does not exist. A
    run of the ticker that takes the lease between the look and the claim puts the
    request back in the queue, still waiting."""
    while True:
        claimed = _claim_when_free(ctx, request_id, claimer, poll_s)
        try:
            return _run_claimed(ctx, claimed, claimer, run)
        except RunInProgress:
            _store(ctx, "putting the run request back", lambda: run_requests.unclaim(ctx.engine, request_id, claimer))
            time.sleep(poll_s)


def record_and_run(ctx: JobContext, request: RunRequest, run: Runner, claimer: str) -> RunResult:
    """Record ``request`` already claimed by ``claimer`` and run it here, now (the CLI's foreground
    run, the clock's own nightly); refused as the run would be while the ticker's lease is held."""
    request_id = _store(ctx, "recording the run request",
                        lambda: run_requests.add(ctx.engine, request, ctx.now(), claimer=claimer))
    claimed = _store(ctx, "reading the run request", lambda: run_requests.get(ctx.engine, request_id))
    assert claimed is not None  # just written
    try:
        return _run_claimed(ctx, claimed, claimer, run)
    except RunInProgress as exc:
        best_effort(partial(run_requests.finish, ctx.engine, request_id, claimer, ctx.now(), f"not run: {exc}"),
                    what="recording how the run request ended")
        raise


def take_next(ctx: JobContext, claimer: str) -> StoredRequest | None:
    """Claim the oldest queued request whose ticker no run holds; None when none can start now."""
    for waiting in _store(ctx, "reading the queue", lambda: run_requests.queued(ctx.engine)):
        name = leases.training_lease(waiting.ticker)
        if _store(ctx, "looking at the training lease", partial(leases.current_lease, ctx.engine, name, live=True)):
            continue
        claimed = _store(ctx, "claiming the run request",
                         partial(run_requests.claim, ctx.engine, waiting.id, claimer, ctx.now()))
        if claimed is not None:
            return claimed
    return None


def run_taken(ctx: JobContext, claimed: StoredRequest, claimer: str, run: Runner) -> RunResult | None:
    """Run a request :func:`take_next` claimed; None when a run of its ticker took the lease
    meanwhile (the request is back in the queue, still waiting)."""
    try:
        return _run_claimed(ctx, claimed, claimer, run)
    except RunInProgress:
        _store(ctx, "putting the run request back", lambda: run_requests.unclaim(ctx.engine, claimed.id, claimer))
        return None


def recorded(pipeline: Callable[[JobContext, RunRequest, RunHooks], RunResult], claimer: str
             ) -> Callable[[JobContext, RunRequest, RunHooks], RunResult]:
    """``pipeline`` (``run_pipeline``'s contract) with each request first recorded in the queue,
    claimed by ``claimer`` (:func:`record_and_run`): how the CLI and the clock run their own."""
    def run(ctx: JobContext, request: RunRequest, hooks: RunHooks) -> RunResult:
        return record_and_run(ctx, request, lambda c, r: pipeline(c, r, hooks), claimer)

    return run
