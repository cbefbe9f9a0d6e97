"""What the admin page does, as plain functions (the page's callbacks only wire them up).

A run is a request queued in the store (:func:`queue_run`) by the page's callback, like every
run; the queue's executor (the clock's child without REDIS_URL, a Celery worker with it) claims
and runs it, and the page reads how it ended from the store (:func:`request_outcome`). The web
never imports the training pipeline.
"""
from __future__ import annotations

import logging
from datetime import datetime
from sqlalchemy import Engine

from config.settings import Settings
from contract.errors import Failure, one_line
from contract.run import RunRequest, RunResult
from contract.vocab import CELLS, DEFAULT_CELL, MAX_EPOCHS, Action, RequestStatus, RunStatus
from store import lease as leases, registry, run_requests, runs

from dashboard import inputs

log = logging.getLogger(__name__)

# the form's order; auto: the nightly pipeline (fetch prices, then decide), now
ACTIONS = (Action.FINETUNE, Action.RETRAIN, Action.AUTO)

Refused = inputs.Refused  # the admin page shows its message


def validate_request(action, cells, epochs, ticker=None, tickers: tuple[str, ...] = ()) -> dict:
    """The run request as the pipeline wants it, or Refused saying what is wrong.

    ``ticker`` None means the default ticker; otherwise it must be one of ``tickers``.
    Nothing is coerced: unknown cells, blank or fractional epochs are refused."""
    action = inputs.choice(action, ACTIONS, "action")
    if ticker is not None:
        ticker = inputs.ticker(ticker, tickers)
    if action == Action.AUTO:  # the schedule's own choice of cells and epochs, as the clock would run it
        return {"action": Action.AUTO.value, "cells": None, "epochs": None, "ticker": ticker}
    n = inputs.whole_number(epochs, "epochs", 1, MAX_EPOCHS)
    if action == Action.FINETUNE:
        return {"action": Action.FINETUNE.value, "cells": [DEFAULT_CELL.value], "epochs": n, "ticker": ticker}
    return {"action": Action.RETRAIN.value, "cells": inputs.cells(cells, CELLS), "epochs": n, "ticker": ticker}


def refusal_for_running(run: dict | None) -> str | None:
    if run is None:
        return None
    return (f"Refused: {run['ticker']} run #{run['id']} ({run['action']}, {run['trigger']} by {run['requested_by']}) "
            f"is in progress since {run['started_at']:%Y-%m-%d %H:%M}; wait for it or cancel it.")


def queue_run(engine: Engine, settings: Settings, user: str, req: dict, now: datetime) -> int:
    """Record the admin's checked request (``validate_request``) in the store as a queued
    run request; its id. Refused while the ticker already has one queued."""
    request = RunRequest.build(req.get("ticker") or settings.default_ticker, trigger="manual",
                               requested_by=f"ui:{user}", action=req["action"], cells=req["cells"],
                               epochs=req["epochs"])
    return run_requests.add(engine, request, now)


def hand_over(settings: Settings, engine: Engine, request_id: int, now: datetime) -> None:
    """With REDIS_URL, hand the queued request to the workers (a task naming its id); without,
    the clock's child claims it from the store. Refused (and the request cancelled) when Redis
    does not take the message."""
    if not settings.redis_url:
        return
    from config.celery_app import send_run_request

    try:
        send_run_request(settings, request_id)
    except Exception as exc:  # broker down since the look: the request would wait for nobody
        why = f"the queue did not take it ({one_line(exc)})"
        run_requests.cancel(engine, request_id, "the web", now, verb=f"not sent: {why}; cancelled")
        raise Refused(f"Not started: {why}. Analyst pages keep serving; try again later.") from None


def request_outcome(engine: Engine, request_id: int) -> tuple[str, str] | None:
    """(colour, sentence) for a request that ended or was cancelled; None while it waits or runs."""
    stored = run_requests.get(engine, request_id)
    if stored is None:
        return "secondary", f"Not started: there is no run request #{request_id}."
    if stored.status is RequestStatus.CANCELLED:
        return "secondary", f"Not started: run request #{request_id} was {stored.outcome or 'cancelled'}."
    if stored.status is not RequestStatus.ENDED:
        return None
    run = runs.get_run(engine, stored.run_id) if stored.run_id is not None else None
    if run is None:
        return "warning", f"Not started: run request #{request_id} ended: {stored.outcome or 'not run'}."
    return describe_run(RunResult.from_record(run))


def cancel_queued(engine: Engine, ticker: str, actor: str, now: datetime) -> str:
    """Cancel the ticker's queued run request; what happened, as a sentence."""
    waiting = run_requests.queued(engine, ticker)
    if not waiting:
        return f"No {ticker} run request is queued."
    req = waiting[0]
    if not run_requests.cancel(engine, req.id, actor, now):
        return f"{ticker} request #{req.id} has already started; cancel its run instead."
    return f"Cancelled {ticker} request #{req.id}: it will not start."


def describe_run(result: RunResult) -> tuple[str, str]:
    """(colour, sentence) for a finished run."""
    head = f"run #{result.run_id} {result.status}"
    if result.duration_s is not None:
        head += f" in {result.duration_s:.0f} s"
    if result.status is RunStatus.SUCCEEDED:
        return "success", f"Run finished: {head}; {result.promotions()}."
    if result.status is RunStatus.CANCELLED:
        return "secondary", f"Run cancelled: {head}: {result.error or ''}"
    if result.status is RunStatus.SKIPPED:
        return "secondary", f"Run finished: {head}: {result.message or result.error or ''}"
    return "danger", f"Run finished: {head}: {result.error or ''}"


def request_cancel(engine: Engine, run_id: int) -> bool:
    """Ask a running run to stop at its next safe point (the pipeline polls the flag)."""
    return runs.request_cancel(engine, run_id)


def promote(engine: Engine, model_id, ticker: str, actor: str, now: datetime) -> str:
    """Promote a model of ``ticker``; Refused when the id is not a whole number naming one."""
    mid = inputs.model_id(model_id)
    try:
        model = registry.get_model(engine, mid)
    except registry.RegistryError:
        raise Refused(f"no model with id {mid}") from None
    if model.ticker != ticker:
        raise Refused(f"model #{mid} is a {model.ticker} model, not {ticker}; choose one of {ticker}'s models")
    previous = registry.promote(engine, mid, actor, now=now)
    was = f" (replacing #{previous})" if previous else ""
    return f"Model #{mid} is now the champion of {ticker} {model.cell}{was}."


def rollback(engine: Engine, ticker: str, cell, actor: str, now: datetime) -> str:
    cell = inputs.choice(cell, CELLS, "cell type")
    restored = registry.rollback(engine, ticker, cell, actor, now=now)
    return f"Rolled back the {ticker} {cell} champion: model #{restored} is champion again."


def fetch_prices(settings: Settings, engine: Engine, ticker: str, now: datetime) -> tuple[str, str]:
    """Fetch the newest prices of ``ticker`` now, through the same code as ``python -m jobs update``
    (overlap check, split refetch, all-or-nothing); (colour, sentence)."""
    from marketdata.sources.base import SourceUnavailable
    from config.price_sources import configured_sources
    from price_feed.updates import update_from_sources

    try:
        result = update_from_sources(engine, ticker, configured_sources(settings), settings.overlap_days, now)
    except SourceUnavailable as exc:
        return "danger", f"Prices not fetched, the store is unchanged: {one_line(exc)}"
    if result.added == 0 and result.source == OFFLINE_SOURCE:
        return "warning", (f"{result.message} (source {result.source}). The offline sample is a fixed file ending on "
                           f"{result.last_date}: fetching from it never adds days. To advance, set PRICE_SOURCE=yahoo "
                           "(network) or import a CSV below.")
    return "success", f"{result.message} (source {result.source})."


OFFLINE_SOURCE = "offline-sample"  # marketdata.sources.offline's name: a fixed file that never advances


def serve_due(engine: Engine, ticker: str) -> bool:
    """Whether a champion of ``ticker`` forecasts from an older close than the newest stored one
    (the question ``jobs.serve.stale_cells`` answers, read here without importing it)."""
    from store.prices import last_stored_date

    newest = last_stored_date(engine, ticker)
    origins = registry.champion_forecast_origins(engine, ticker)
    return newest is not None and any(o is None or o < newest for o in origins.values())


def clock_running(engine: Engine) -> bool:
    """Whether the clock holds its lease now (by the database's clock): it serves stale champions every minute."""
    return leases.current_lease(engine, leases.CLOCK_LEASE, live=True) is not None


def request_serve(settings: Settings, engine: Engine, ticker: str) -> str:
    """After a price write: ask for a serve of ``ticker`` when a champion is stale; one sentence
    for the page ("" when nothing is due). With REDIS_URL a task goes to the workers; the clock's
    minute job serves without it, and after a lost message."""
    if not serve_due(engine, ticker):
        return ""
    fix = f"python -m jobs serve --ticker {ticker}"
    clock = clock_running(engine)
    if settings.redis_url:
        from config.celery_app import SERVE_TASK_NAME, shared_celery_app

        try:
            shared_celery_app(settings).send_task(SERVE_TASK_NAME, args=[ticker])
            return "The forecast from the new close is on its way: a worker is serving every champion now."
        except Exception as exc:  # broker down: the clock still serves, or the operator does
            log.warning("could not queue the serve of %s: %s", ticker, one_line(exc))
            if not clock:
                return f"The serve could not be queued ({one_line(exc)}) and no clock runs: {fix}."
    if clock:
        within = "a few minutes" if settings.redis_url else "a minute"  # it gives a queued task two minutes first
        return f"The forecast from the new close is on its way: the clock serves every champion within {within}."
    return f"No clock is running to serve the forecast from the new close: start one (python -m jobs clock) or {fix}."


def execute_fetch(settings: Settings, engine: Engine, ticker: str, now: datetime) -> tuple[str, str]:
    """Fetch now, then ask for the serve a newer close makes due; (colour, sentence). Runs in the
    admin's own (authenticated) request: the source's timeouts bound it."""
    ticker = inputs.ticker(ticker, settings.tickers)
    try:
        colour, sentence = fetch_prices(settings, engine, ticker, now)
        if colour == "success":  # a newer close: ask for the serve, as an upload does ("" when none is due)
            sentence = f"{sentence} {request_serve(settings, engine, ticker)}".strip()
        return colour, sentence
    except Failure as exc:
        return "danger", f"Prices not fetched, the store is unchanged: {exc}"


def set_schedule_paused(engine: Engine, pause: bool, actor: str, now: datetime) -> str:
    from store.pause import set_paused

    set_paused(engine, pause, actor, now)
    return ("Nightly schedule paused: the clock skips its runs until you resume." if pause
            else "Nightly schedule resumed: the clock runs at its next fire time.")
