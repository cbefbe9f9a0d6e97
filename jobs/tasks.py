"""Celery tasks: the pipeline fanned out one task per ticker to the workers.

``register_tasks(app)`` registers them on the shared Celery app; the worker process
(Procfile ``worker:``) calls it when it starts, and the clock and ``nightly --queue``
call it before sending. Nothing is read or built at import time. Each task runs the
same ``run_pipeline`` as the CLI, the clock and the admin UI, with the request and
the outcome as JSON (``RunRequest.to_json``, ``TickerOutcome.to_json``).

Tasks are acknowledged late, so a worker killed mid-task leaves the task for another
worker; the killed run's lease expires, its run row is marked failed by the next run,
and a half-trained model is never registered.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from contract.errors import Refusal
from contract.run import RunRequest, TickerOutcome, TickerState

if TYPE_CHECKING:  # pragma: no cover
    from celery import Celery

TASK_NAME = "jobs.run_ticker"


def run_ticker(request_json: dict[str, Any]) -> dict[str, Any]:
    """Run the pipeline for one request in this process; the TickerOutcome as JSON."""
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
        return run_one(ctx, request, run_pipeline, RunHooks()).to_json()
    finally:
        ctx.engine.dispose()


def register_tasks(app: "Celery") -> None:
    """Register the pipeline task on ``app`` (idempotent: Celery keeps one task per name)."""
    if TASK_NAME not in app.tasks:
        app.task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True)(run_ticker)


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
    answers = result.get(timeout=wait_s, propagate=False)
    return [TickerOutcome.from_json(a) if isinstance(a, dict)
            else TickerOutcome(r.ticker, TickerState.FAILED, message=f"task error: {a}")
            for r, a in zip(requests, answers)]
