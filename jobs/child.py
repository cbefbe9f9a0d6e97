"""One pipeline run in a fresh child process, so the caller never holds TensorFlow.

The clock is a long-lived process on a small dyno. ``import tensorflow`` costs about
570 MB of resident memory that the interpreter never gives back, so a clock that
trained in its own process would idle at 700+ MB forever (Heroku: R14 on a 512 MB
dyno). ``run_pipeline_in_child`` has ``run_pipeline``'s contract (same keyword
arguments, returns the finished run record, raises ``RunInProgress`` and
``StoreUnavailable``) but runs it in a ``spawn`` child (a new interpreter, not a fork
of the caller) that exits when the run ends and takes TensorFlow with it.

The run itself is unchanged: the child takes the ticker's lease, records the run and
polls the cancel flag like any other caller. The caller's ``should_cancel`` is
forwarded through an event; SIGTERM/SIGINT reaching the child (Heroku signals every
process of a dyno on restart) cancel the run at its next epoch instead of killing it.
"""
from __future__ import annotations

import logging
import multiprocessing
import signal
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from config.settings import Settings
from store.db import StoreUnavailable

from .context import JobContext
from .errors import RunInProgress
from .progress import CancelFn

log = logging.getLogger(__name__)

_SPAWN = multiprocessing.get_context("spawn")
POLL_S = 0.5
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ChildFailed(RuntimeError):
    """The child raised something other than a refusal or a store outage, or died."""


@dataclass(frozen=True)
class Outcome:
    """What the child sends back: kind is ok | refused | store | error."""

    kind: str
    run: dict[str, Any] | None = None
    message: str = ""


def _child_main(settings: Settings, kwargs: dict[str, Any], conn, cancel) -> None:
    """Entry point of the child: run the pipeline, send one Outcome, exit."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: cancel.set())
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format=LOG_FORMAT, force=True)
    from store import runs
    from store.db import make_engine

    from .pipeline import run_pipeline

    engine = make_engine(settings.database_url)
    ctx = JobContext(settings=settings, engine=engine, now=lambda: datetime.now(timezone.utc))
    try:
        outcome = Outcome("ok", run=run_pipeline(ctx, should_cancel=cancel.is_set, **kwargs))
    except RunInProgress as exc:
        outcome = Outcome("refused", message=str(exc))
    except StoreUnavailable as exc:
        outcome = Outcome("store", message=str(exc))
    except BaseException as exc:  # anything else: one line back to the caller, who logs it
        outcome = Outcome("error", message=runs.one_line(exc))
    try:
        conn.send(outcome)
    finally:
        conn.close()
        engine.dispose()


def _wait(proc, reader, cancel, should_cancel: CancelFn | None) -> Outcome | None:
    """Forward cancel requests until the child reports; None when it died first."""
    while not reader.poll(POLL_S):
        if should_cancel is not None and not cancel.is_set() and should_cancel():
            log.info("asking training process %s to cancel its run", proc.pid)
            cancel.set()
    try:
        return reader.recv()
    except EOFError:  # the child's end closed without a word: it was killed or crashed
        return None


def run_pipeline_in_child(ctx: JobContext, *, should_cancel: CancelFn | None = None, **kwargs: Any) -> dict[str, Any]:
    """``jobs.pipeline.run_pipeline`` in a spawned child process; the finished run record.

    ``kwargs`` must be picklable (tickers, actions, cells, epochs; not a source object).
    The child builds its own engine from ``ctx.settings``; ``ctx.now`` is not carried over.
    """
    cancel = _SPAWN.Event()
    reader, writer = _SPAWN.Pipe(duplex=False)
    proc = _SPAWN.Process(target=_child_main, args=(ctx.settings, kwargs, writer, cancel),
                          name=f"pipeline-{kwargs.get('ticker') or ctx.settings.default_ticker}")
    proc.start()
    writer.close()  # the child holds the only writer: its exit ends our wait
    log.info("training process %s started for %s", proc.pid, kwargs.get("ticker") or ctx.settings.default_ticker)
    try:
        outcome = _wait(proc, reader, cancel, should_cancel)
    finally:
        reader.close()
        proc.join()
    if outcome is None:
        raise ChildFailed(f"the training process {proc.pid} exited with code {proc.exitcode} before reporting; "
                          "the next run marks its run failed once the lease expires")
    if outcome.kind == "refused":
        raise RunInProgress(outcome.message)
    if outcome.kind == "store":
        raise StoreUnavailable(outcome.message)
    if outcome.kind == "error":
        raise ChildFailed(outcome.message)
    return outcome.run
