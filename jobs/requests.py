"""The executor of a queued run request (``store.run_requests``): wait, claim, run, record.

The admin page queues a request in the store and hands its id to an executor: a Celery
worker with ``REDIS_URL`` (the message waits in Redis while the worker is busy), a
background process of the web without. Nothing expires while it waits. When the
executor gets it, the request still waits while another run of its ticker holds the
training lease (the page says behind which run), then is claimed, once: a replayed or
redelivered message finds it claimed and starts nothing. A request cancelled while it
waited is never started.
"""
from __future__ import annotations

import logging
import time
from functools import partial
from collections.abc import Callable
from typing import TypeVar

from contract.errors import Refusal
from contract.run import RunRequest, RunResult
from contract.vocab import RequestStatus
from store import lease as leases, run_requests
from store.db import best_effort, retry_on_outage
from store.run_requests import StoredRequest

from .context import JobContext
from .errors import RunInProgress
from .run import run_pipeline

log = logging.getLogger(__name__)

POLL_S = 1.0  # how often a waiting request looks at its lease and at a cancel

Runner = Callable[[JobContext, RunRequest], RunResult]
T = TypeVar("T")


class NotStarted(Refusal):
    """The request was not started: cancelled while it waited, already claimed, or unknown."""


def _store(ctx: JobContext, what: str, fn: Callable[[], T]) -> T:
    """``fn`` retried through a database outage for at most STORE_RETRY_SECONDS, as a run's own steps are."""
    return retry_on_outage(fn, what=what, budget_s=ctx.settings.schedule.store_retry_s)


def _still_queued(stored: StoredRequest | None, request_id: int) -> StoredRequest:
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
    while True:
        stored = _still_queued(_store(ctx, "reading the run request", lambda: run_requests.get(ctx.engine, request_id)),
                               request_id)
        name = leases.training_lease(stored.ticker)
        if _store(ctx, "looking at the training lease", partial(leases.current_lease, ctx.engine, name, live=True)):
            time.sleep(poll_s)
            continue
        claimed = _store(ctx, "claiming the run request",
                         lambda: run_requests.claim(ctx.engine, request_id, claimer, ctx.now()))
        if claimed is not None:
            return claimed
        # cancelled or claimed meanwhile: the next read says which


def execute_request(ctx: JobContext, request_id: int, claimer: str, run: Runner = run_pipeline,
                    poll_s: float = POLL_S) -> RunResult:
    """Wait until request ``request_id``'s ticker is free, claim it and run it; the run's result.

    NotStarted if it was cancelled, claimed by another executor, or does not exist. A
    run of the ticker that takes the lease between the look and the claim puts the
    request back in the queue, still waiting."""
    while True:
        claimed = _claim_when_free(ctx, request_id, claimer, poll_s)
        try:
            result = run(ctx, claimed.request)
        except RunInProgress:
            _store(ctx, "putting the run request back", lambda: run_requests.unclaim(ctx.engine, request_id, claimer))
            time.sleep(poll_s)
            continue
        except BaseException as exc:  # a refusal, a store outage, a signal: the request says so, then it goes on
            best_effort(partial(run_requests.finish, ctx.engine, request_id, claimer, ctx.now(), f"not run: {exc}"),
                        what="recording how the run request ended")
            raise
        best_effort(partial(run_requests.finish, ctx.engine, request_id, claimer, ctx.now(), result.summary(),
                            run_id=result.run_id), what="recording how the run request ended")
        log.info("run request #%s: %s", request_id, result.summary())
        return result
