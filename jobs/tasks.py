"""Celery tasks: the nightly pipeline fanned out one task per ticker to the workers.

Registered on the shared Celery app and run by the Procfile ``worker:``
(``celery -A dashboard.worker:celery_app worker``) when REDIS_URL is set. Each
task calls the same ``run_pipeline`` as the CLI, the clock and the admin UI.
Tasks are acknowledged late, so a worker killed mid-task leaves the task for
another worker; the killed run's lease expires, its run row is marked failed by
the next run, and a half-trained model is never registered.
"""
from __future__ import annotations

from config.settings import load_settings
from config.celery_app import shared_celery_app


def _build_app():
    settings = load_settings(uses=("core",))  # REDIS_URL only; each process checks its own groups at start
    if not settings.redis_url:
        return None
    return shared_celery_app(settings)


# Celery's ``-A`` needs a module-level app; building it reads settings but connects
# to nothing. Without REDIS_URL there is no app.
app = _build_app()


def run_ticker(ticker: str, trigger: str = "nightly", requested_by: str = "clock", action: str = "auto",
               cells: list[str] | None = None, epochs: int | None = None) -> dict:
    """Run the pipeline for one ticker in this process; returns a JSON-able summary."""
    from config.settings import PROCESS_GROUPS

    from .cli import EXPECTED_ERRORS
    from .context import bootstrap
    from .errors import RunInProgress
    from .pipeline import run_pipeline

    try:
        ctx = bootstrap(uses=PROCESS_GROUPS["worker"])
        run = run_pipeline(ctx, ticker=ticker, trigger=trigger, requested_by=requested_by, action=action,
                           cells=cells, epochs=epochs)
    except RunInProgress as exc:
        return {"ticker": ticker, "status": "refused", "error": str(exc)}
    except EXPECTED_ERRORS as exc:  # store down, bad ticker or setting: one line in the result, no traceback
        return {"ticker": ticker, "status": "error", "error": " ".join(str(exc).split())}
    return {"ticker": ticker, "status": run["status"], "run_id": run["id"], "error": run.get("error")}


if app is not None:
    run_ticker_task = app.task(name="jobs.run_ticker", acks_late=True, reject_on_worker_lost=True)(run_ticker)


def fan_out(tickers: list[str], trigger: str = "nightly", requested_by: str = "clock", action: str = "auto",
            cells: list[str] | None = None, epochs: int | None = None, wait_s: float | None = None) -> list[dict]:
    """One task per ticker on the workers. Callers check REDIS_URL first: without a
    queue the clock and ``nightly`` run the pipeline in their own process instead."""
    if app is None:
        raise RuntimeError("no queue configured (REDIS_URL is not set)")
    from celery import group

    result = group(run_ticker_task.s(t, trigger, requested_by, action, cells, epochs) for t in tickers).apply_async()
    if wait_s is None:
        return [{"ticker": t, "status": "queued", "task_id": r.id} for t, r in zip(tickers, result.results)]
    return result.get(timeout=wait_s, propagate=False)
