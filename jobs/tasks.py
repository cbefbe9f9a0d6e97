"""Celery tasks: the pipeline fanned out one task per ticker to the workers.

``register_tasks(app)`` registers them on the shared Celery app; the worker process
(Procfile ``worker:``) calls it when it starts, and the clock and ``nightly --queue``
call it before sending. Nothing is read or built at import time. Each task runs the
same ``run_pipeline`` as the CLI, the clock and the admin UI, with the request and
the outcome as JSON (``RunRequest.to_json``, ``TickerOutcome.to_json``).

Tasks are acknowledged late, so a worker killed mid-task leaves the task for another
worker; the killed run's lease expires, its run row is marked failed by the next run,
and a half-trained model is never registered.

A redelivered task can arrive before the dead worker's lease has expired (Redis
redelivers after the visibility timeout counted from the first delivery, the lease
expires a TTL after the worker's last heartbeat). Refused as "a run is in progress",
the task would be acknowledged and the work lost. So a redelivered task that finds
the lease held waits for it: one retry, timed for the lease's expiry, carrying the
lease it saw. If by then that lease was renewed or another holder took it, a live
run holds it and the task is refused as usual; if it expired, the task runs.

The limits this leaves (Celery and Redis, not this module):
- the retried message is held unacknowledged while it waits, so the wait plus the run
  must fit in the visibility timeout (settings require LEASE_TTL_SECONDS to be at most
  half of it), or Redis hands out a copy;
- a task whose retry cannot be published is dropped by Celery (``Reject``), as any retry.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from contract.errors import Refusal
from contract.run import RunRequest, TickerOutcome, TickerState
from store import lease as leases

if TYPE_CHECKING:  # pragma: no cover
    from celery import Celery, Task

    from .context import JobContext

log = logging.getLogger(__name__)

TASK_NAME = "jobs.run_ticker"
# The serve step for one ticker (``jobs.serve``), sent by name by the admin page after a
# price upload (the web never imports jobs.serve); a no-op store read when nothing is stale.
SERVE_TASK_NAME = "jobs.serve_ticker"
# A backstop only: a dead worker's lease is gone after one timed wait (its expiry is read on
# the database's clock); more waits happen only when Celery runs the retry early, since its
# countdown is an ETA on the workers' own clocks.
LEASE_RETRIES = 3


def run_ticker(task: "Task", request_json: dict[str, Any], seen_lease: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the pipeline for one request in this process; the TickerOutcome as JSON.
    ``seen_lease``: on a retry, the lease the task waited for (``lease_retry_countdown``)."""
    from config.settings import PROCESS_GROUPS

    from .context import build_context
    from .each_ticker import run_one
    from .run import RunHooks, run_pipeline

    try:
        request = RunRequest.from_json(request_json)
    except Refusal as exc:  # a message from an older or foreign sender: refused, never guessed
        return TickerOutcome(str(request_json.get("ticker")), TickerState.REFUSED, message=str(exc)).to_json()
    try:
        ctx = build_context(uses=PROCESS_GROUPS["worker"])
    except Exception as exc:  # store down, bad setting: one line in the outcome, no traceback
        return TickerOutcome(request.ticker, TickerState.FAILED, message=" ".join(str(exc).split())).to_json()
    try:
        wait = lease_retry_countdown(ctx, request.ticker, redelivered(task), task.request.retries or 0, seen_lease)
        if wait is not None:
            wait_s, held = wait
            log.warning("%s: redelivered task waits %.0fs for the training lease held by %s to expire",
                        request.ticker, wait_s, held["holder"])
            raise task.retry(args=[request_json], kwargs={"seen_lease": held}, countdown=wait_s,
                             max_retries=LEASE_RETRIES)
        outcome = run_one(ctx, request, run_pipeline, RunHooks())
        # Celery's own "Task ... succeeded" means only that the task returned; this line says how the run went.
        log.log(logging.INFO if outcome.ok else logging.WARNING, "task %s: %s", task.request.id, outcome.line())
        return outcome.to_json()
    finally:
        ctx.engine.dispose()


def redelivered(task: "Task") -> bool:
    """Whether Redis handed this task out again (its worker died before acknowledging it),
    or it is a retry, which this task only makes to wait for such a worker's lease."""
    return bool((task.request.delivery_info or {}).get("redelivered")) or (task.request.retries or 0) > 0


def lease_retry_countdown(ctx: "JobContext", ticker: str, redelivered: bool, retries: int,
                          seen: dict[str, str] | None = None) -> tuple[float, dict[str, str]] | None:
    """How long a redelivered task should wait for the ticker's training lease, and the
    lease it waits for; None: run now.

    Runs now: a first delivery (a run in progress refuses it, as always), a free or
    expired lease, and a lease other than the one ``seen`` on the last wait, since it
    was renewed or taken by someone else, so a live run holds it. "Live" and "how long
    is left" are the database's clock (one read), never this worker's. The wait ends
    one second past the expiry, so the retry finds the lease expired."""
    if not redelivered or retries >= LEASE_RETRIES:
        return None
    held = leases.current_lease(ctx.engine, leases.training_lease(ticker), live=True)
    if held is None:
        return None
    this = {"holder": held.holder, "expires_at": held.expires_at.isoformat()}
    if seen is not None and seen != this:
        return None
    return held.seconds_left + 1.0, this


def serve_ticker_task(ticker: str) -> str:
    """Serve every stale champion of ``ticker`` and publish (``jobs.serve``); its one line.
    Never raises: a refusal or an outage is the returned line, and the clock's minute job
    serves what is still stale."""
    from config.settings import PROCESS_GROUPS

    from .context import build_context
    from .serve import checked_tickers, serve_and_publish

    try:
        ctx = build_context(uses=PROCESS_GROUPS["worker"])
    except Exception as exc:  # store down, bad setting: one line, no traceback
        return f"{ticker}: not served: {' '.join(str(exc).split())}"
    try:
        ticker = checked_tickers(ctx, ticker)[0]
        if leases.current_lease(ctx.engine, leases.training_lease(ticker), live=True) is not None:
            line = f"{ticker}: left to the training run in progress (a run serves as it ends)"
        else:
            line = serve_and_publish(ctx, ticker).line()
    except Exception as exc:  # one line in the worker's log; the clock retries within a minute
        line = f"{ticker}: not served: {' '.join(str(exc).split())}"
    finally:
        ctx.engine.dispose()
    log.info("serve task: %s", line)
    return line


def register_tasks(app: "Celery") -> None:
    """Register the pipeline and serve tasks on ``app`` (idempotent: Celery keeps one task per name)."""
    if TASK_NAME not in app.tasks:
        app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True)(run_ticker)
    if SERVE_TASK_NAME not in app.tasks:
        app.task(name=SERVE_TASK_NAME, acks_late=True, reject_on_worker_lost=True)(serve_ticker_task)


def fan_out(app: "Celery", requests: list[RunRequest], wait_s: float | None = None) -> list[TickerOutcome]:
    """One task per request on the workers; ``queued`` outcomes, or the finished ones
    when ``wait_s`` is given. Callers check REDIS_URL first: without a queue the clock
    and ``nightly`` run the pipeline in their own process instead."""
    from celery import group

    register_tasks(app)
    task = app.tasks[TASK_NAME]
    result = group(task.s(r.to_json()) for r in requests).apply_async()
    if wait_s is None:
        return [TickerOutcome(r.ticker, TickerState.QUEUED, message=f"task {t.id}")
                for r, t in zip(requests, result.results)]
    from celery.exceptions import TimeoutError as WaitedTooLong

    try:
        answers = result.get(timeout=wait_s, propagate=False)
    except WaitedTooLong:  # some finished, some did not: say which, and how to follow the rest
        return [_answer(r, t.result) if t.ready() else TickerOutcome(
                    r.ticker, TickerState.QUEUED, message=f"task {t.id} not finished after {wait_s:g} s; "
                    "follow it with: python -m jobs runs (its run appears when a worker starts it)")
                for r, t in zip(requests, result.results)]
    return [_answer(r, a) for r, a in zip(requests, answers)]


def _answer(request: RunRequest, answer: Any) -> TickerOutcome:
    """A finished task's outcome (its JSON), or the task's error as a failed outcome."""
    if isinstance(answer, dict):
        return TickerOutcome.from_json(answer)
    return TickerOutcome(request.ticker, TickerState.FAILED, message=f"task error: {answer}")
