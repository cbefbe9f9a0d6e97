"""What the admin page does, as plain functions (the page's callbacks only wire them up).

The training pipeline (and so TensorFlow) is imported only inside
:func:`execute_run`, which runs in the background-callback process (a diskcache
subprocess or a Celery worker), never in the web worker.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy import Engine

from store import registry, runs, tickets
from config.settings import ConfigError, Settings
from store.db import StoreError, StoreUnavailable
from contract.vocab import CELLS
from marketdata.frames import PriceDataError
from marketdata.sources.base import SourceUnavailable
from marketdata.tickers import TickerError

from . import auth, inputs

# Failures a run can meet that are not bugs: each becomes one visible sentence on the
# admin page instead of a traceback in the background worker.
EXPECTED_FAILURES = (ConfigError, StoreError, StoreUnavailable, TickerError, PriceDataError, SourceUnavailable)

log = logging.getLogger(__name__)

ACTIONS = ("finetune", "retrain", "auto")  # auto: the nightly pipeline (fetch prices, then decide), now
MAX_EPOCHS = 500

Refused = inputs.Refused  # the admin page shows its message


def validate_request(action, cells, epochs, ticker=None, tickers: tuple[str, ...] = ()) -> dict:
    """The run request as the pipeline wants it, or Refused saying what is wrong.

    ``ticker`` None means the default ticker; otherwise it must be one of ``tickers``.
    Nothing is coerced: unknown cells, blank or fractional epochs are refused."""
    action = inputs.choice(action, ACTIONS, "action")
    if ticker is not None:
        ticker = inputs.ticker(ticker, tickers)
    if action == "auto":  # the schedule's own choice of cells and epochs, as the clock would run it
        return {"action": "auto", "cells": None, "epochs": None, "ticker": ticker}
    n = inputs.whole_number(epochs, "epochs", 1, MAX_EPOCHS)
    if action == "finetune":
        return {"action": "finetune", "cells": ["gru"], "epochs": n, "ticker": ticker}
    return {"action": "retrain", "cells": inputs.cells(cells, CELLS), "epochs": n, "ticker": ticker}


def refusal_for_running(run: dict | None) -> str | None:
    if run is None:
        return None
    return (f"Refused: {run['ticker']} run #{run['id']} ({run['action']}, {run['trigger']} by {run['requested_by']}) "
            f"is in progress since {run['started_at']:%Y-%m-%d %H:%M}; wait for it or cancel it.")


def execute_run(settings: Settings, ticket: dict) -> tuple[str, str]:
    """Verify the ticket and run the pipeline; returns (bootstrap colour, message). Runs in the background process."""
    try:
        fields = auth.verify_ticket(settings, ticket)
    except auth.NotAuthorized as exc:
        return "danger", f"Not started: {exc}."
    req = fields["request"]
    try:
        from jobs.context import bootstrap
        from jobs.errors import Cancelled, JobError, RunInProgress
        from jobs.pipeline import run_pipeline
    except ImportError as exc:
        return "warning", f"Not started: the training pipeline is not installed in this deployment ({exc})."
    try:
        ctx = bootstrap()
    except EXPECTED_FAILURES as exc:
        return "danger", f"Not started: {exc}"
    if not tickets.claim(ctx.engine, str(fields.get("nonce")), str(fields.get("actor")), datetime.now(timezone.utc)):
        ctx.engine.dispose()
        return "danger", "Not started: this run ticket was already used; press Start again."
    try:
        result = run_pipeline(ctx, ticker=req.get("ticker") or settings.default_ticker, trigger="manual",
                              requested_by=f"ui:{fields['actor']}", action=req["action"],
                              cells=req["cells"], epochs=req["epochs"])
    except RunInProgress as exc:
        return "warning", f"Refused: {exc}"
    except Cancelled as exc:
        return "secondary", f"Run cancelled: {exc}"
    except (JobError, *EXPECTED_FAILURES) as exc:
        return "danger", f"Run failed: {exc}"
    finally:
        ctx.engine.dispose()
    return describe_run(result)


def describe_run(run: dict) -> tuple[str, str]:
    """(colour, sentence) for a finished run record from ``store.runs``."""
    status = run.get("status")
    head = f"run #{run.get('id')} {status}"
    if run.get("duration_s") is not None:
        head += f" in {run['duration_s']:.0f} s"
    if status == "succeeded":
        return "success", f"Run finished: {head}; {_promotions(run)}."
    if status == "cancelled":
        return "secondary", f"Run cancelled: {head}: {run.get('error') or ''}"
    if status == "skipped":
        return "secondary", f"Run finished: {head}: {run.get('progress_message') or run.get('error') or ''}"
    return "danger", f"Run finished: {head}: {run.get('error') or ''}"


def _promotions(run: dict) -> str:
    """Which models were promoted, replacing which: 'promoted GRU #7 (replacing #4)'."""
    from contract.vocab import CELL_LABELS

    models = ((run.get("detail") or {}).get("models")) or []
    done = [f"{CELL_LABELS.get(m['cell'], m['cell'])} #{m['model_id']}"
            + (f" (replacing #{m['previous_champion_id']})" if m.get("previous_champion_id") else "")
            for m in models if m.get("promoted")]
    if done:
        return "promoted " + ", ".join(done)
    if run.get("promoted"):
        return "a new champion was promoted"
    kept = [f"{CELL_LABELS.get(m['cell'], m['cell'])} #{m['model_id']}" for m in models]
    return "the champion was kept" + (f" (candidate {', '.join(kept)} not promoted)" if kept else "")


def request_cancel(engine: Engine, run_id: int) -> bool:
    """Ask a running run to stop at its next safe point (the pipeline polls the flag)."""
    return runs.request_cancel(engine, run_id)


def promote(engine: Engine, model_id, ticker: str, actor: str) -> str:
    """Promote a model of ``ticker``; Refused when the id is not a whole number naming one."""
    mid = inputs.model_id(model_id)
    try:
        model = registry.get_model(engine, mid)
    except registry.RegistryError:
        raise Refused(f"no model with id {mid}") from None
    if model.ticker != ticker:
        raise Refused(f"model #{mid} is a {model.ticker} model, not {ticker}; choose one of {ticker}'s models")
    previous = registry.promote(engine, mid, actor, now=datetime.now(timezone.utc))
    was = f" (replacing #{previous})" if previous else ""
    return f"Model #{mid} is now the champion of {ticker} {model.cell}{was}."


def rollback(engine: Engine, ticker: str, cell, actor: str) -> str:
    cell = inputs.choice(cell, CELLS, "cell type")
    restored = registry.rollback(engine, ticker, cell, actor, now=datetime.now(timezone.utc))
    return f"Rolled back the {ticker} {cell} champion: model #{restored} is champion again."


def fetch_prices(settings: Settings, engine: Engine, ticker: str) -> tuple[str, str]:
    """Fetch the newest prices of ``ticker`` now, through the same code as ``python -m jobs update``
    (overlap check, split refetch, all-or-nothing); (colour, sentence)."""
    from marketdata.sources.base import SourceUnavailable
    from config.price_sources import configured_sources
    from store.price_updates import update_from_sources

    try:
        result = update_from_sources(engine, ticker, configured_sources(settings), settings.overlap_days,
                                     datetime.now(timezone.utc))
    except SourceUnavailable as exc:
        return "danger", f"Prices not fetched, the store is unchanged: {runs.one_line(exc)}"
    return "success", f"{result.message} (source {result.source})."


def set_schedule_paused(engine: Engine, pause: bool, actor: str) -> str:
    from store.pause import set_paused

    set_paused(engine, pause, actor, datetime.now(timezone.utc))
    return ("Nightly schedule paused: the clock skips its runs until you resume." if pause
            else "Nightly schedule resumed: the clock runs at its next fire time.")
