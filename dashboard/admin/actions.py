"""What the admin page does, as plain functions (the page's callbacks only wire them up).

A run is a request queued in the store (:func:`queue_run`) by the page's callback; the
training pipeline (and so TensorFlow) is imported only inside :func:`execute_run`, which
runs in the background-callback process (a diskcache subprocess or a Celery worker),
never in the web worker.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from config.settings import Settings
from contract.errors import EXPECTED, Failure, Refusal, one_line
from contract.run import RunRequest, RunResult
from contract.vocab import CELLS, DEFAULT_CELL, MAX_EPOCHS, Action, RunStatus
from store import lease as leases, registry, run_requests, runs, tickets

from dashboard import auth, inputs

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


def _ticket_request(settings: Settings, ticket: Any, now: datetime) -> tuple[int, str]:
    """(run request id, who asked) from a genuine run ticket, or NotAuthorized. No age limit:
    the ticket waits as long as its request does, and claiming the request spends it."""
    fields = auth.verify_ticket(settings, ticket, now=now.timestamp(), max_age_s=None)
    req = fields["request"]
    request_id = req.get("request_id") if isinstance(req, dict) else None
    if not isinstance(request_id, int) or isinstance(request_id, bool) or "kind" in req:
        raise auth.NotAuthorized("this ticket is not for a run")
    return request_id, str(fields.get("actor"))


def _not_started(settings: Settings, request_id: int, now: datetime, colour: str, why: str) -> tuple[str, str]:
    """The executor cannot start the request at all: end it with the reason (best effort), so it
    does not stay queued for ever and block the ticker's next Start."""
    from store.db import make_engine

    try:
        engine = make_engine(settings.database_url)
        try:
            run_requests.cancel(engine, request_id, f"the executor: {why}"[:200], now)
        finally:
            engine.dispose()
    except Exception:  # the store is what failed: the page's cancel button remains
        log.warning("run request #%s not started and not cancelled: %s", request_id, why)
    return colour, f"Not started: {why}."


def execute_run(settings: Settings, ticket: dict[str, Any], now: datetime) -> tuple[str, str]:
    """Verify the ticket, then wait for, claim and run the request it names; returns
    (bootstrap colour, message). Runs in the background process (a diskcache child, a Celery worker)."""
    try:
        request_id, actor = _ticket_request(settings, ticket, now)
    except auth.NotAuthorized as exc:
        return "danger", f"Not started: {exc}."
    try:
        from jobs.context import build_context
        from jobs.requests import NotStarted, execute_request
    except ImportError as exc:
        return _not_started(settings, request_id, now, "warning",
                            f"the training pipeline is not installed in this deployment ({exc})")
    try:
        ctx = build_context()
    except EXPECTED as exc:
        return _not_started(settings, request_id, now, "danger", str(exc))
    try:
        return describe_run(execute_request(ctx, request_id, claimer=f"ui:{actor}:{leases.new_holder_id()}"))
    except NotStarted as exc:
        return "secondary", f"Not started: {exc}."
    except Refusal as exc:  # a setting out of range
        return "warning", f"Refused: {exc}"
    except Failure as exc:  # the store stayed down past the run's retries
        return "danger", f"Run failed: {exc}"
    finally:
        ctx.engine.dispose()


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
    from jobs.price_updates import update_from_sources

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


FETCH = "fetch"  # the kind of a fetch ticket's request, so a run ticket is never spent as one
SERVE_TASK = "jobs.serve_ticker"  # jobs.tasks.SERVE_TASK_NAME, sent by name: the web never imports jobs.serve


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
        from config.celery_app import shared_celery_app

        try:
            shared_celery_app(settings).send_task(SERVE_TASK, args=[ticker])
            return "The forecast from the new close is on its way: a worker is serving every champion now."
        except Exception as exc:  # broker down: the clock still serves, or the operator does
            log.warning("could not queue the serve of %s: %s", ticker, one_line(exc))
            if not clock:
                return f"The serve could not be queued ({one_line(exc)}) and no clock runs: {fix}."
    if clock:
        within = "a few minutes" if settings.redis_url else "a minute"  # it gives a queued task two minutes first
        return f"The forecast from the new close is on its way: the clock serves every champion within {within}."
    return f"No clock is running to serve the forecast from the new close: start one (python -m jobs clock) or {fix}."


def execute_fetch(settings: Settings, ticket: dict[str, Any], now: datetime) -> tuple[str, str]:
    """Verify a fetch ticket, spend it, fetch; (colour, sentence). Runs in the background process,
    on an engine of its own (a forked or remote process must not share the web's pool)."""
    from store.db import make_engine

    try:
        fields = auth.verify_ticket(settings, ticket, now=now.timestamp())
        request = fields["request"]
        if not isinstance(request, dict) or request.get("kind") != FETCH:
            raise auth.NotAuthorized("this ticket is not for a price fetch")
        ticker = inputs.ticker(request.get("ticker"), settings.tickers)
    except Refusal as exc:
        return "danger", f"Not fetched: {exc}."
    engine = make_engine(settings.database_url)
    try:
        if not tickets.claim(engine, str(fields.get("nonce")), str(fields.get("actor")), now):
            return "danger", "Not fetched: this ticket was already used; press Fetch again."
        colour, sentence = fetch_prices(settings, engine, ticker, now)
        if colour == "success":  # a newer close: ask for the serve, as an upload does ("" when none is due)
            sentence = f"{sentence} {request_serve(settings, engine, ticker)}".strip()
        return colour, sentence
    except Failure as exc:
        return "danger", f"Prices not fetched, the store is unchanged: {exc}"
    finally:
        engine.dispose()


def set_schedule_paused(engine: Engine, pause: bool, actor: str, now: datetime) -> str:
    from store.pause import set_paused

    set_paused(engine, pause, actor, now)
    return ("Nightly schedule paused: the clock skips its runs until you resume." if pause
            else "Nightly schedule resumed: the clock runs at its next fire time.")
