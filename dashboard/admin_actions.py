"""What the admin page does, as plain functions (the page's callbacks only wire them up).

The training pipeline (and so TensorFlow) is imported only inside
:func:`execute_run`, which runs in the background-callback process (a diskcache
subprocess or a Celery worker), never in the web worker.
"""
from __future__ import annotations

import logging

from sqlalchemy import Engine

from marketdata import registry, runs
from marketdata.config import Settings
from marketdata.outputs import CELLS

from . import auth

log = logging.getLogger(__name__)

ACTIONS = ("finetune", "retrain")
MAX_EPOCHS = 500


class Refused(ValueError):
    """A request the admin page turns down, with the reason to show."""


def validate_request(action: str, cells: list[str] | None, epochs, ticker: str | None = None,
                     tickers: tuple[str, ...] = ()) -> dict:
    """The run request as the pipeline wants it, or Refused saying what is wrong.

    ``ticker`` None means the default ticker; otherwise it must be one of ``tickers``."""
    if action not in ACTIONS:
        raise Refused(f"unknown action {action!r}; choose fine-tune or full retrain")
    if ticker is not None and ticker not in tickers:
        raise Refused(f"unknown ticker {ticker!r}; configured: {', '.join(tickers)}")
    if action == "finetune":
        return {"action": "finetune", "cells": ["gru"], "epochs": _epochs(epochs), "ticker": ticker}
    cells = [c for c in (cells or []) if c in CELLS]
    if not cells:
        raise Refused("choose at least one cell type to retrain")
    return {"action": "retrain", "cells": cells, "epochs": _epochs(epochs), "ticker": ticker}


def _epochs(epochs) -> int | None:
    if epochs in (None, ""):
        return None
    try:
        n = int(epochs)
    except (TypeError, ValueError):
        raise Refused(f"epochs must be a whole number, not {epochs!r}") from None
    if not 1 <= n <= MAX_EPOCHS:
        raise Refused(f"epochs must be between 1 and {MAX_EPOCHS}")
    return n


def refusal_for_running(run: dict | None) -> str | None:
    if run is None:
        return None
    return (f"Refused: run #{run['id']} ({run['action']}, {run['trigger']} by {run['requested_by']}) is in progress "
            f"since {run['started_at']:%Y-%m-%d %H:%M}; wait for it or cancel it.")


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
    ctx = bootstrap()
    try:
        result = run_pipeline(ctx, ticker=req.get("ticker") or settings.default_ticker, trigger="manual",
                              requested_by=f"ui:{fields['actor']}", action=req["action"],
                              cells=req["cells"], epochs=req["epochs"])
    except RunInProgress as exc:
        return "warning", f"Refused: {exc}"
    except Cancelled as exc:
        return "secondary", f"Run cancelled: {exc}"
    except JobError as exc:
        return "danger", f"Run failed: {exc}"
    finally:
        ctx.engine.dispose()
    return describe_run(result)


def describe_run(run: dict) -> tuple[str, str]:
    """(colour, sentence) for a finished run record from ``marketdata.runs``."""
    status = run.get("status")
    head = f"run #{run.get('id')} {status}"
    if run.get("duration_s") is not None:
        head += f" in {run['duration_s']:.0f} s"
    if status == "succeeded":
        promoted = "; a new champion was promoted" if run.get("promoted") else "; the champion was kept"
        return "success", f"Run finished: {head}{promoted}."
    if status == "cancelled":
        return "secondary", f"Run cancelled: {head}: {run.get('error') or ''}"
    if status == "skipped":
        return "secondary", f"Run finished: {head}: {run.get('progress_message') or run.get('error') or ''}"
    return "danger", f"Run finished: {head}: {run.get('error') or ''}"


def request_cancel(engine: Engine, run_id: int) -> bool:
    """Ask a running run to stop at its next safe point (the pipeline polls the flag)."""
    return runs.request_cancel(engine, run_id)


def promote(engine: Engine, model_id: int, actor: str) -> str:
    previous = registry.promote(engine, model_id, actor)
    was = f" (replacing #{previous})" if previous else ""
    return f"Model #{model_id} is now the champion of its cell type{was}."


def rollback(engine: Engine, ticker: str, cell: str, actor: str) -> str:
    restored = registry.rollback(engine, ticker, cell, actor)
    return f"Rolled back {cell}: model #{restored} is champion again."
