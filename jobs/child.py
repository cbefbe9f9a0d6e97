"""One pipeline run in a fresh child process, so the caller never holds TensorFlow.

The clock is a long-lived process on a small dyno. ``import tensorflow`` costs about
570 MB of resident memory that the interpreter never gives back, so a clock that
trained in its own process would idle at 700+ MB forever (Heroku: R14 on a 512 MB
dyno). ``run_pipeline_in_child`` has ``run_pipeline``'s contract (a RunRequest in,
the RunResult out; the child's refusals and failures raised again here as a Refusal
or a Failure with the same message) but runs it in a ``spawn`` child (a new interpreter, not a fork
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
from dataclasses import dataclass
from typing import Any

from config.logs import setup_logging
from config.settings import Settings
from contract.errors import Failure, Refusal, one_line
from contract.run import RunRequest, RunResult

from .context import JobContext
from .progress import CancelFn
from .run import RunHooks

log = logging.getLogger(__name__)

_SPAWN = multiprocessing.get_context("spawn")
POLL_S = 0.5


class ChildFailed(Failure):
    """The child raised something other than a refusal or a failure, or died."""


@dataclass(frozen=True)
class Outcome:
    """What the child sends back: kind is ok | expected (a Refusal or Failure) | error."""

    kind: str
    result: RunResult | None = None
    message: str = ""
    error: Refusal | Failure | None = None  # raised again in the caller: same class, same message


SHUTDOWN_REASON = "its process was shutting down (a clock stop or a dyno restart)"


class _ParentStopping:
    """The child's cancel check: its parent forwarded a stop (the clock is shutting down) or the child got
    SIGTERM itself (a dyno restart); the run's record says so rather than "cancelled by the caller"."""

    reason = SHUTDOWN_REASON

    def __init__(self, cancel: Any):
        self.cancel = cancel

    def __call__(self) -> bool:
        return bool(self.cancel.is_set())


def _child_main(settings: Settings, request: RunRequest, conn: Any, cancel: Any) -> None:
    """Entry point of the child: run the pipeline, send one Outcome, exit."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: cancel.set())
    setup_logging("clock-child")
    from store.db import make_engine

    from .run import run_pipeline

    engine = make_engine(settings.database_url)
    ctx = JobContext(settings=settings, engine=engine)
    try:
        outcome = Outcome("ok", result=run_pipeline(ctx, request, RunHooks(should_cancel=_ParentStopping(cancel))))
    except (Refusal, Failure) as exc:  # our error classes take one message: they pickle whole
        outcome = Outcome("expected", message=str(exc), error=exc)
    except BaseException as exc:  # anything else: one line back to the caller, who logs it
        outcome = Outcome("error", message=one_line(exc))
    try:
        conn.send(outcome)
    finally:
        conn.close()
        engine.dispose()


def _wait(proc: Any, reader: Any, cancel: Any, should_cancel: CancelFn | None) -> Outcome | None:
    """Forward cancel requests until the child reports; None when it died first."""
    while not reader.poll(POLL_S):
        if should_cancel is not None and not cancel.is_set() and should_cancel():
            log.info("asking training process %s to cancel its run", proc.pid)
            cancel.set()
    try:
        return reader.recv()
    except EOFError:  # the child's end closed without a word: it was killed or crashed
        return None


def run_pipeline_in_child(ctx: JobContext, request: RunRequest, hooks: RunHooks = RunHooks()) -> RunResult:
    """``jobs.run.run_pipeline`` in a spawned child process; the finished run's result.

    The child builds its own engine from ``ctx.settings`` and uses the configured price
    sources; ``ctx.now`` and ``ctx.sources`` are not carried over, nor ``hooks.progress``
    (the run's progress is in its row).
    """
    cancel = _SPAWN.Event()
    reader, writer = _SPAWN.Pipe(duplex=False)
    proc = _SPAWN.Process(target=_child_main, args=(ctx.settings, request, writer, cancel),
                          name=f"pipeline-{request.ticker}")
    proc.start()
    writer.close()  # the child holds the only writer: its exit ends our wait
    log.info("training process %s started for %s", proc.pid, request.ticker)
    try:
        outcome = _wait(proc, reader, cancel, hooks.should_cancel)
    finally:
        reader.close()
        proc.join()
    if outcome is None:
        raise ChildFailed(f"the training process {proc.pid} exited with code {proc.exitcode} before reporting; "
                          "the next run marks its run failed once the lease expires")
    if outcome.error is not None:
        raise outcome.error
    if outcome.kind == "error" or outcome.result is None:
        raise ChildFailed(outcome.message)
    return outcome.result


def _serve_child_main(settings: Settings, tickers: list[str], conn: Any) -> None:
    """Entry point of a serve child: serve and publish each ticker, send the ServeResults, exit."""
    setup_logging("clock-child")
    from store.db import make_engine

    from .serve import ServeResult, serve_and_publish

    engine = make_engine(settings.database_url)
    results: list[ServeResult] = []
    try:
        ctx = JobContext(settings=settings, engine=engine)
        for ticker in tickers:
            try:
                results.append(serve_and_publish(ctx, ticker))
            except Exception as exc:  # a store outage past its retries: this ticker is tried again later
                log.warning("%s: could not serve: %s", ticker, " ".join(str(exc).split()))
        conn.send(results)
    finally:
        conn.close()
        engine.dispose()


def serve_in_child(ctx: JobContext, tickers: list[str]) -> list[Any]:
    """``jobs.serve.serve_and_publish`` for each ticker in a spawned child, so the caller never holds
    TensorFlow; the ServeResults of the tickers it served (empty when the child died)."""
    reader, writer = _SPAWN.Pipe(duplex=False)
    proc = _SPAWN.Process(target=_serve_child_main, args=(ctx.settings, tickers, writer), name="serve")
    proc.start()
    writer.close()
    log.info("serving process %s started for %s", proc.pid, ", ".join(tickers))
    try:
        results = reader.recv()
    except EOFError:  # killed or crashed before reporting
        log.warning("serving process %s exited with code %s before reporting", proc.pid, proc.exitcode)
        results = []
    finally:
        reader.close()
        proc.join()
    return list(results)
