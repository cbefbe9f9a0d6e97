"""nightly, runs, cancel, clock, simulate: the pipeline and its history from the command line."""
from __future__ import annotations

import argparse
import getpass
import json
import sys
import time

from store import runs
from config.settings import PROCESS_GROUPS
from contract.vocab import CELLS

from ..context import bootstrap
from ..errors import JobError
from . import argtypes


def _cells(text: str | None) -> list[str] | None:
    if not text:
        return None
    cells = [c.strip().lower() for c in text.split(",") if c.strip()]
    bad = [c for c in cells if c not in CELLS]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown cell type(s) {', '.join(bad)}; choose from {', '.join(CELLS)}")
    return cells


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("nightly", help="run the pipeline once, now (update prices, fine-tune or retrain, record)")
    p.add_argument("--ticker", type=argtypes.ticker, help="default: every ticker in TICKERS")
    p.add_argument("--action", choices=runs.ACTIONS, default="auto",
                   help="auto (default): skip without a new trading day, fine-tune, or retrain when due")
    p.add_argument("--cells", type=_cells, help="for retrain: comma-separated cells (default all three)")
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

    p = sub.add_parser("runs", help="the run history, newest first")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=argtypes.int_in(1, 100_000), default=20)
    p.set_defaults(handler=cmd_runs)

    p = sub.add_parser("cancel", help="ask a running run to stop at its next epoch")
    p.add_argument("run_id", type=argtypes.run_id)
    p.set_defaults(handler=cmd_cancel)

    p = sub.add_parser("clock", help="the scheduler process (Procfile clock:, one only)")
    p.add_argument("--no-bootstrap", action="store_true", help="do not seed/train on a fresh store")
    p.set_defaults(handler=cmd_clock)

    p = sub.add_parser("simulate", help="replay the last N trading days night by night under a retraining policy")
    p.add_argument("--nights", type=argtypes.int_in(1, 5000), default=20)
    p.add_argument("--policy", default="finetune,retrain,none",
                   help="finetune, retrain, none, or a comma-separated list (default: all three)")
    p.add_argument("--epochs", type=argtypes.epochs, help="epochs of the initial training and of each retrain")
    p.add_argument("--finetune-epochs", type=argtypes.epochs, help="epochs of each nightly fine-tune")
    p.add_argument("--ticker", type=argtypes.ticker)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_simulate, long_running=True)


class _ProgressPrinter:
    """One stderr line per new message, at most every 0.5 s (and always the last)."""

    def __init__(self, quiet: bool):
        self.quiet, self.last_msg, self.last_t = quiet, "", 0.0

    def __call__(self, fraction: float, message: str) -> None:
        t = time.monotonic()
        if self.quiet or message == self.last_msg or (t - self.last_t < 0.5 and fraction < 1):
            return
        self.last_msg, self.last_t = message, t
        print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)


def _describe(run: dict) -> str:
    note = run.get("error") if run["status"] in ("failed", "cancelled") else run.get("progress_message")
    return f"run #{run['id']} {run['ticker']} {run['status']}: {note or ''}".rstrip(": ")


def cmd_nightly(args) -> int:
    from ..pipeline import run_pipeline  # no TensorFlow until a run trains

    ctx = bootstrap()
    tickers = [args.ticker] if args.ticker else list(ctx.settings.tickers)
    who = args.requested_by or f"cli:{getpass.getuser()}"
    if args.queue:
        return _nightly_via_queue(ctx, args, tickers, who)
    stop = args.should_cancel  # SIGTERM / Ctrl-C (jobs.stopping): stop at the next epoch, record cancelled
    code = 0
    for ticker in tickers:
        if stop():
            break
        run = run_pipeline(
            ctx, ticker=ticker, trigger=args.trigger, requested_by=who, action=args.action, cells=args.cells,
            epochs=args.epochs, progress=_ProgressPrinter(args.quiet), should_cancel=stop,
        )
        print(_describe(run))
        if run["status"] in ("failed", "cancelled"):
            code = 1
    return code


def _nightly_via_queue(ctx, args, tickers: list[str], who: str) -> int:
    """Fan the pipeline out to the workers: one task per ticker."""
    if not ctx.settings.redis_url:
        raise JobError("--queue needs REDIS_URL (the Celery broker); without it, run without --queue")
    from ..tasks import fan_out

    try:
        results = fan_out(tickers, trigger=args.trigger, requested_by=who, action=args.action,
                          cells=args.cells, epochs=args.epochs, wait_s=args.wait)
    except Exception as exc:  # broker down, timeout: say so in one line
        raise JobError(f"could not queue the pipeline: {type(exc).__name__}: {exc}") from None
    code = 0
    for r in results:
        if isinstance(r, dict):
            print(f"{r['ticker']}: {r['status']}" + (f" (task {r['task_id']})" if r.get("task_id") else "")
                  + (f" run #{r['run_id']}" if r.get("run_id") else "") + (f": {r['error']}" if r.get("error") else ""))
            code = code or int(r["status"] in ("failed", "cancelled", "refused", "error"))
        else:  # an exception a task raised, returned because propagate=False
            print(f"task error: {r}")
            code = 1
    return code


def _fmt_time(dt) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else "-"


def cmd_runs(args) -> int:
    ctx = bootstrap()
    # A run whose process died still reads "running" in its row; show it as the web does.
    ttl = ctx.settings.schedule.lease_ttl_s
    history = [runs.as_shown(r, ctx.now(), ttl) for r in runs.list_runs(ctx.engine, limit=args.limit)]
    if args.json:
        print(json.dumps([runs.run_json(r) for r in history], indent=2, default=str))
        return 0
    if not history:
        print("no runs yet; run: python -m jobs nightly")
        return 0
    print(f"{'id':>4}  {'trigger':<9} {'by':<14} {'plan':<9} {'status':<10} {'started (UTC)':<17} {'secs':>6}  "
          f"{'prom':<4}  note")
    for r in history:
        plan = (r.get("detail") or {}).get("plan") or r["action"]
        note = r["error"] if r["status"] in ("failed", "cancelled") else r["progress_message"]
        if r["status"] == "running":
            note = f"{r['progress']:.0%} {note}"
        promoted = {True: "yes", False: "no", None: "-"}[r["promoted"]]
        secs = f"{r['duration_s']:.1f}" if r["duration_s"] is not None else "-"
        print(f"{r['id']:>4}  {r['trigger']:<9} {r['requested_by'][:14]:<14} {plan:<9} {r['status']:<10} "
              f"{_fmt_time(r['started_at']):<17} {secs:>6}  {promoted:<4}  {note or ''}")
    status = runs.clock_status(ctx.engine)
    for s in status:
        if s["next_run_at"] is None:
            continue  # a one-off (bootstrap) that has run
        print(f"clock: {s['job_id']} next at {_fmt_time(s['next_run_at'])} UTC (heartbeat {_fmt_time(s['heartbeat_at'])})")
    return 0


def cmd_cancel(args) -> int:
    ctx = bootstrap()
    if not runs.request_cancel(ctx.engine, args.run_id):
        raise JobError(f"run #{args.run_id} is not running; nothing to cancel")
    print(f"run #{args.run_id}: cancel requested; it stops at its next epoch")
    return 0


def cmd_clock(args) -> int:
    from ..clock import run_clock

    return run_clock(bootstrap(uses=PROCESS_GROUPS["clock"]), bootstrap=not args.no_bootstrap)


def cmd_simulate(args) -> int:
    from ..simulate import format_table, simulate

    policies = [p.strip() for p in args.policy.split(",") if p.strip()]
    ctx = bootstrap()
    result = simulate(
        ctx, nights=args.nights, policies=policies, ticker=args.ticker, epochs=args.epochs,
        finetune_epochs=args.finetune_epochs, progress=lambda m: print(m, file=sys.stderr, flush=True),
        should_cancel=args.should_cancel,
    )
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0
