"""runs, cancel: the run history and stopping a run, from the command line."""
from __future__ import annotations

import argparse
import json
from datetime import datetime

from contract.vocab import RunStatus
from store import runs
from store.times import db_now

from ..context import build_context
from ..errors import JobError
from . import argtypes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="the run history, newest first")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=argtypes.int_in(1, 100_000), default=20)
    p.set_defaults(handler=cmd_runs)

    p = sub.add_parser("cancel", help="ask a running run to stop at its next epoch")
    p.add_argument("run_id", type=argtypes.run_id)
    p.set_defaults(handler=cmd_cancel)


def _fmt_time(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else "-"


def cmd_runs(args: argparse.Namespace) -> int:
    ctx = build_context()
    # A run whose process died still reads "running" in its row; show it as the web does.
    ttl = ctx.settings.schedule.lease_ttl_s
    store_now = db_now(ctx.engine)  # the clock heartbeats are written with, not this process's
    history = [runs.as_shown(r, store_now, ttl) for r in runs.list_runs(ctx.engine, limit=args.limit)]
    if args.json:
        print(json.dumps([runs.run_json(r) for r in history], indent=2, default=str))
        return 0
    if not history:
        print("no runs yet; run: python -m jobs nightly")
        return 0
    print(f"{'id':>4}  {'ticker':<8} {'trigger':<9} {'by':<14} {'plan':<9} {'status':<10} {'started (UTC)':<17} {'secs':>6}  "
          f"{'prom':<4}  note")
    for r in history:
        plan = (r.get("detail") or {}).get("plan") or r["action"]
        note = r["error"] if r["status"] in (RunStatus.FAILED, RunStatus.CANCELLED) else r["progress_message"]
        if r["status"] == RunStatus.RUNNING:
            note = f"{r['progress']:.0%} {note}"
        promoted = {True: "yes", False: "no", None: "-"}[r["promoted"]]
        secs = f"{r['duration_s']:.1f}" if r["duration_s"] is not None else "-"
        print(f"{r['id']:>4}  {r['ticker']:<8} {r['trigger']:<9} {r['requested_by'][:14]:<14} {plan:<9} {r['status']:<10} "
              f"{_fmt_time(r['started_at']):<17} {secs:>6}  {promoted:<4}  {note or ''}")
    status = runs.clock_status(ctx.engine)
    for s in status:
        if s["next_run_at"] is None:
            continue  # a one-off (bootstrap) that has run
        print(f"clock: {s['job_id']} next at {_fmt_time(s['next_run_at'])} UTC (heartbeat {_fmt_time(s['heartbeat_at'])})")
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    ctx = build_context()
    if not runs.request_cancel(ctx.engine, args.run_id):
        raise JobError(f"run #{args.run_id} is not running; nothing to cancel")
    print(f"run #{args.run_id}: cancel requested; it stops at its next epoch")
    return 0
