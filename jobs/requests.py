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
from collections.abc import Callable

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


class NotStarted(Refusal):
    """The request was not started: cancelled while it waited, already claimed, or unknown."""


def _read(ctx: JobContext, request_id: int) -> StoredRequest:
    stored = retry_on_outage(lambda: run_requests.get(ctx.engine, request_id), what="reading the run request",
                             budget_s=ctx.settings.schedule.store_retry_s)
    if stored is None:
        raise NotStarted(f"there is no run request #{request_id}")
    if stored.status is not RequestStatus.QUEUED:
        # A second copy of the message (a replay, a redelivery) may report after the first: say what became of it.
        why = {RequestStatus.CANCELLED: stored.outcome or "cancelled",
               RequestStatus.CLAIMED: "already claimed by another executor (its run is under way)",
               RequestStatus.ENDED: f"already run ({stored.outcome})"}[stored.status]
        raise NotStarted(f"run request #{request_id} was {why}")
    return stored


def _lease_free(ctx: JobContext, ticker: str) -> bool:
    return leases.current_lease(ctx.engine, leases.training_lease(ticker), now=ctx.now()) is None


def execute_request(ctx: JobContext, request_id: int, claimer: str, run: Runner = run_pipeline,
                    poll_s: float = POLL_S) -> RunResult:
    """Wait until request ``request_id``'s ticker is free, claim it and run it; the run's result.

    NotStarted if it was cancelled, claimed by another executor, or does not exist. A
    run of the ticker that takes the lease between the look and the claim puts the
    request back in the queue, still waiting."""
    while True:
        stored = _read(ctx, request_id)
        if not _lease_free(ctx, stored.ticker):
            time.sleep(poll_s)
            continue
        claimed = run_requests.claim(ctx.engine, request_id, claimer, ctx.now())
        if claimed is None:
            continue  # cancelled or claimed meanwhile: the next read says which
        try:
            result = run(ctx, claimed.request)
        except RunInProgress:
            run_requests.unclaim(ctx.engine, request_id, claimer)
            time.sleep(poll_s)
            continue
        except BaseException as exc:  # a refusal, a store outage, a signal: the request says so, then it goes on
            best_effort(lambda: run_requests.finish(ctx.engine, request_id, claimer, ctx.now(), f"not run: {exc}"),
                        what="recording how the run request ended")
            raise
        run_requests.finish(ctx.engine, request_id, claimer, ctx.now(), result.summary(), run_id=result.run_id)
        log.info("run request #%s: %s", request_id, result.summary())
        return result
