"""Celery tasks: queued run requests and serves, executed by the workers.

``register_tasks(app)`` registers them on the shared Celery app; the worker process
(``jobs.worker``, Procfile ``worker:``) calls it when it starts. Nothing is read or built at
import time. A run task carries only a run request's id (``store.run_requests``): the worker
waits while the ticker's lease is held, claims the request once and runs the same
``run_pipeline`` as the CLI and the clock (``jobs.requests.execute_request``). A replayed or
redelivered message finds the request claimed or ended and starts nothing.

Tasks are acknowledged late, so a worker killed mid-task leaves its message for another worker.
Its claim stops heartbeating: the clock's sweep (or the redelivered message itself) re-queues
the request once, and it runs again once the dead run's lease has expired; its run row is
marked failed by the next run, and a half-trained model is never registered.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from config.celery_app import RUN_TASK_NAME, SERVE_TASK_NAME, send_run_request
from contract.run import TickerOutcome, TickerState
from store import lease as leases

if TYPE_CHECKING:  # pragma: no cover
    from celery import Celery

    from .context import JobContext

log = logging.getLogger(__name__)

TASK_NAME = RUN_TASK_NAME


def run_request_task(request_id: int) -> dict[str, Any]:
    """Wait for, claim and run queued request ``request_id`` in this process; the TickerOutcome as JSON."""
    from config.settings import PROCESS_GROUPS
    from store import run_requests

    from .context import build_context
    from .each_ticker import run_one
    from .requests import execute_request
    from .run import RunHooks, run_pipeline

    try:
        ctx = build_context(uses=PROCESS_GROUPS["worker"])
    except Exception as exc:  # store down, bad setting: one line in the outcome, no traceback
        return TickerOutcome("?", TickerState.FAILED, message=" ".join(str(exc).split())).to_json()
    try:
        stored = run_requests.get(ctx.engine, request_id) if isinstance(request_id, int) else None
        if stored is None:  # a message from an older or foreign sender: refused, never guessed
            return TickerOutcome("?", TickerState.REFUSED, message=f"there is no run request #{request_id}").to_json()
        claimer = f"worker:{leases.new_holder_id()}"
        outcome = run_one(ctx, stored.request,
                          lambda c, _r, hooks: execute_request(c, request_id, claimer,
                                                               run=lambda c2, r2: run_pipeline(c2, r2, hooks)),
                          RunHooks())
        # Celery's own "Task ... succeeded" means only that the task returned; this line says how the run went.
        log.log(logging.INFO if outcome.ok else logging.WARNING, "run request #%s: %s", request_id, outcome.line())
        return outcome.to_json()
    finally:
        ctx.engine.dispose()


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
    """Register the run and serve tasks on ``app`` (idempotent: Celery keeps one task per name)."""
    if RUN_TASK_NAME not in app.tasks:
        app.task(name=RUN_TASK_NAME, acks_late=True, reject_on_worker_lost=True)(run_request_task)
    if SERVE_TASK_NAME not in app.tasks:
        app.task(name=SERVE_TASK_NAME, acks_late=True, reject_on_worker_lost=True)(serve_ticker_task)


def queue_requests(ctx: "JobContext", requests: list[Any]) -> list[tuple[Any, int | None, TickerOutcome]]:
    """Record each RunRequest in the store as queued and hand its id to the workers; per request
    (request, id or None, outcome: ``queued``, or refused when the ticker has one queued already).
    A request whose message cannot be sent is cancelled, saying so (failed outcome): queued with no
    message it would block its ticker, as one request per ticker may wait."""
    from contract.errors import Refusal, one_line
    from store import run_requests

    out: list[tuple[Any, int | None, TickerOutcome]] = []
    for request in requests:
        try:
            request_id = run_requests.add(ctx.engine, request, ctx.now())
        except Refusal as exc:
            out.append((request, None, TickerOutcome(request.ticker, TickerState.REFUSED, message=str(exc))))
            continue
        try:
            task_id = send_run_request(ctx.settings, request_id)
        except Exception as exc:  # broker down: a row no message names would block its ticker for good
            why = f"the queue did not take it ({one_line(exc)})"
            run_requests.cancel(ctx.engine, request_id, "the clock or CLI", ctx.now(), verb=f"not sent: {why}; cancelled")
            out.append((request, None, TickerOutcome(request.ticker, TickerState.FAILED,
                                                     message=f"request #{request_id} not sent: {why}")))
            continue
        out.append((request, request_id, TickerOutcome(request.ticker, TickerState.QUEUED,
                                                       message=f"request #{request_id}, task {task_id}")))
    return out


def wait_for_requests(ctx: "JobContext", queued: list[tuple[Any, int | None, TickerOutcome]], wait_s: float,
                      poll_s: float = 1.0) -> tuple[list[TickerOutcome], bool]:
    """Wait up to ``wait_s`` for the queued requests to end (read in the store); (outcomes, all ended).
    A request still waiting or running keeps its ``queued`` outcome, saying so."""
    import time

    from contract.run import RunResult
    from contract.vocab import RequestStatus
    from store import run_requests, runs

    deadline = time.monotonic() + wait_s
    while True:
        outcomes, done = [], True
        for request, request_id, outcome in queued:
            stored = run_requests.get(ctx.engine, request_id) if request_id is not None else None
            if stored is None or stored.status in (RequestStatus.QUEUED, RequestStatus.CLAIMED):
                done = done and stored is None
                outcomes.append(outcome if stored is None else TickerOutcome(
                    request.ticker, TickerState.QUEUED, message=f"request #{request_id} still {stored.status}"))
                continue
            run = runs.get_run(ctx.engine, stored.run_id) if stored.run_id is not None else None
            outcomes.append(TickerOutcome(request.ticker, TickerState.RAN, RunResult.from_record(run)) if run
                            else TickerOutcome(request.ticker, TickerState.FAILED, message=stored.outcome or "not run"))
        if done or time.monotonic() >= deadline:
            return outcomes, done
        time.sleep(poll_s)
