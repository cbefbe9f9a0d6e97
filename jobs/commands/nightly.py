"""nightly: run the pipeline once, now, for one ticker or every configured one."""
from __future__ import annotations

import argparse
import sys
import time

from contract.run import RunRequest, TickerOutcome, TickerState
from contract.vocab import Action

from ..context import JobContext, build_context
from ..errors import JobError
from . import argtypes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("nightly", help="run the pipeline once, now (update prices, fine-tune or retrain, record)")
    p.add_argument("--ticker", type=argtypes.ticker, help="default: every ticker in TICKERS")
    p.add_argument("--action", choices=[str(a) for a in Action], default="auto",
                   help="auto (default): skip without a new trading day, fine-tune, or retrain when due")
    p.add_argument("--cells", type=argtypes.cells, help="for retrain: comma-separated cells (default all three)")
    p.add_argument("--epochs", type=argtypes.epochs, help="training epochs (default: the training default or PIPELINE_EPOCHS)")
    p.add_argument("--trigger", choices=["manual", "nightly"], default="manual",
                   help="recorded trigger (a Heroku Scheduler entry would pass nightly)")
    p.add_argument("--requested-by", default=None, help="recorded requester (default cli:<user>)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--queue", action="store_true",
                   help="send one task per ticker to the Celery workers (needs REDIS_URL) instead of running here")
    p.add_argument("--wait", type=argtypes.float_in(0.1, 86400), metavar="SECONDS",
                   help="with --queue: wait up to SECONDS for the workers and report each run")
    p.set_defaults(handler=cmd_nightly, long_running=True)


class ProgressPrinter:
    """One stderr line per new message, at most every 0.5 s (and always the last)."""

    def __init__(self, quiet: bool):
        self.quiet, self.last_msg, self.last_t = quiet, "", 0.0

    def __call__(self, fraction: float, message: str) -> None:
        t = time.monotonic()
        if self.quiet or message == self.last_msg or (t - self.last_t < 0.5 and fraction < 1):
            return
        self.last_msg, self.last_t = message, t
        print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)


def _requests(ctx: JobContext, args: argparse.Namespace) -> list[RunRequest]:
    tickers = [args.ticker] if args.ticker else list(ctx.settings.tickers)
    who = args.requested_by or argtypes.cli_user()
    return [RunRequest.build(t, action=args.action, trigger=args.trigger, requested_by=who, cells=args.cells,
                             epochs=args.epochs) for t in tickers]


def cmd_nightly(args: argparse.Namespace) -> int:
    """Every ticker runs, whatever another ticker's run did (see ``_report`` for the exit status)."""
    from ..each_ticker import run_each
    from ..requests import recorded
    from ..run import RunHooks, run_pipeline  # no TensorFlow until a run trains

    ctx = build_context()
    requests = _requests(ctx, args)
    if args.queue:
        outcomes, done = _via_queue(ctx, requests, args.wait)
        return max(_report(outcomes, len(requests)), 0 if done else 1)  # 1: not every run ended in --wait
    else:  # recorded in the queue, claimed by this process and run here, in the foreground
        hooks = RunHooks(progress=ProgressPrinter(args.quiet), should_cancel=args.should_cancel)
        outcomes = run_each(ctx, requests, recorded(run_pipeline, cli_claimer()), hooks)
    return _report(outcomes, len(requests))


def cli_claimer() -> str:
    """Who claims a command's own request: ``cli:<user>:<host>:<pid>:<random>``."""
    from store.lease import new_holder_id

    return f"{argtypes.cli_user()}:{new_holder_id()}"


def _report(outcomes: list[TickerOutcome], asked: int) -> int:
    """A run's line on stdout; a refusal or failure as an ``error:`` line on stderr.

    Exit 2 when a ticker was refused or failed before its run was recorded (as every
    command's expected errors), 1 when a recorded run failed or was cancelled or a
    stop request ended the list early, else 0."""
    for o in outcomes:
        if o.state in (TickerState.REFUSED, TickerState.FAILED):
            print(f"error: {o.ticker}: {o.message}", file=sys.stderr)
        else:
            print(o.line())
    if any(o.state in (TickerState.REFUSED, TickerState.FAILED) for o in outcomes):
        return 2
    return 0 if len(outcomes) == asked and all(o.ok for o in outcomes) else 1


def _via_queue(ctx: JobContext, requests: list[RunRequest], wait_s: float | None) -> tuple[list[TickerOutcome], bool]:
    """Queue one request per ticker in the store and hand each to the workers; with ``wait_s``, the
    finished runs (a request still waiting or running at the timeout is named, with how to follow it)."""
    if not ctx.settings.redis_url:
        raise JobError("--queue needs REDIS_URL (the Celery broker); without it, run without --queue")
    from ..tasks import queue_requests, wait_for_requests

    try:
        queued = queue_requests(ctx, requests)
    except Exception as exc:  # broker down: say so in one line
        raise JobError(f"could not queue the pipeline: {type(exc).__name__}: {exc}") from None
    if wait_s is None:
        return [outcome for _r, _id, outcome in queued], True
    outcomes, done = wait_for_requests(ctx, queued, wait_s)
    if not done:
        print(f"warning: not every run ended within {wait_s:g} s; follow them with: python -m jobs queue "
              "(and python -m jobs runs)", file=sys.stderr)
    return outcomes, done
