"""Run one request per ticker, in this process; one ticker's refusal or failure never stops the others."""
from __future__ import annotations

import logging
from typing import Callable, Iterable

from contract.errors import Failure, Refusal, one_line
from contract.run import RunRequest, RunResult, TickerOutcome, TickerState
from store.db import store_failures_as_errors

from .context import JobContext
from .run import RunHooks

log = logging.getLogger(__name__)

# run_pipeline's contract: jobs.run.run_pipeline itself, or jobs.child.run_pipeline_in_child.
Pipeline = Callable[[JobContext, RunRequest, RunHooks], RunResult]


def run_each(ctx: JobContext, requests: Iterable[RunRequest], pipeline: Pipeline, hooks: RunHooks) -> list[TickerOutcome]:
    """Each request in turn, until ``hooks.should_cancel`` says stop; the outcome per ticker."""
    outcomes = []
    for request in requests:
        if hooks.should_cancel is not None and hooks.should_cancel():
            break
        outcomes.append(run_one(ctx, request, pipeline, hooks))
        log.info("%s", outcomes[-1].line())
    return outcomes


def run_one(ctx: JobContext, request: RunRequest, pipeline: Pipeline, hooks: RunHooks) -> TickerOutcome:
    try:
        # The store refusing a write (read-only, gone) is a StoreError (a Failure), as the CLI says it.
        with store_failures_as_errors(ctx.settings.database_url):
            return TickerOutcome(request.ticker, TickerState.RAN, pipeline(ctx, request, hooks))
    except Refusal as exc:
        log.warning("%s: refused: %s", request.ticker, exc)
        return TickerOutcome(request.ticker, TickerState.REFUSED, message=" ".join(str(exc).split()))
    except Failure as exc:
        log.error("%s: %s", request.ticker, exc)
        return TickerOutcome(request.ticker, TickerState.FAILED, message=" ".join(str(exc).split()))
    except Exception as exc:  # a bug in one ticker's run must not keep the others from running
        log.exception("%s: pipeline error", request.ticker)
        return TickerOutcome(request.ticker, TickerState.FAILED, message=one_line(exc))
