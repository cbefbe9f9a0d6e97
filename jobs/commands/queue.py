"""queue, queue drop: the requested runs waiting or running, and removing a waiting one."""
from __future__ import annotations

import argparse

from contract.vocab import RequestStatus
from store import lease as leases, run_requests, runs
from store.run_requests import StoredRequest
from store.times import db_now

from ..context import JobContext, build_context
from ..errors import JobError
from . import argtypes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("queue", help="the requested runs: waiting, running, waiting for redelivery")
    p.set_defaults(handler=cmd_queue)
    verbs = p.add_subparsers(dest="queue_command", metavar="drop")
    d = verbs.add_parser("drop", help="remove a waiting request (recorded: who dropped it and when)")
    d.add_argument("request_id", type=argtypes.run_id, metavar="ID")
    d.set_defaults(handler=cmd_drop)


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m" if seconds < 7200 else f"{seconds // 3600}h"


def behind(ctx: JobContext, req: StoredRequest, shown: str) -> str:
    """What a waiting request waits for (its ticker's run or lease, the requests ahead of it); whom
    a claimed one is run by."""
    if shown in ("running", "silent"):
        beat = f", heartbeat {req.heartbeat_at:%H:%M:%S} UTC" if req.heartbeat_at else ""
        return f"claimed by {req.claimed_by}{beat}"
    parts = []
    run = runs.active_run(ctx.engine, req.ticker, stale_after_s=ctx.settings.schedule.lease_ttl_s)
    held = leases.current_lease(ctx.engine, leases.training_lease(req.ticker), live=True)
    if run:
        parts.append(f"behind run #{run['id']} ({run['ticker']} {run['action']})")
    elif held:
        parts.append(f"behind the {req.ticker} training lease held by {held.holder}")
    ahead = run_requests.ahead_of(ctx.engine, req.id)
    if ahead:
        parts.append(f"{ahead} ahead")
    if shown == "redelivery":
        parts.append(req.outcome or "")
    return "; ".join(parts) or "next"


def cmd_queue(args: argparse.Namespace) -> int:
    ctx = build_context()
    pending = run_requests.pending(ctx.engine)
    if not pending:
        print("the queue is empty: no run is waiting or running")
        return 0
    now, silent_s = db_now(ctx.engine), ctx.settings.schedule.lease_ttl_s
    print(f"{'id':>5}  {'ticker':<8} {'kind':<17} {'state':<10} {'asked by':<16} {'age':>5}  behind / by")
    for req in pending:
        shown = run_requests.queue_state(req, now, silent_s).value
        kind = f"{req.request.action}/{req.request.trigger}"
        print(f"{req.id:>5}  {req.ticker:<8} {kind:<17} {shown:<10} {req.request.requested_by[:16]:<16} "
              f"{_age((now - req.requested_at).total_seconds()):>5}  {behind(ctx, req, shown)}")
    return 0


def cmd_drop(args: argparse.Namespace) -> int:
    ctx = build_context()
    req = run_requests.get(ctx.engine, args.request_id)
    if req is None:
        raise JobError(f"there is no run request #{args.request_id}; list them with: python -m jobs queue")
    actor = argtypes.cli_user()
    if not run_requests.cancel(ctx.engine, req.id, actor, ctx.now(), verb="dropped"):
        now = run_requests.get(ctx.engine, req.id) or req
        if now.status is RequestStatus.CLAIMED:
            raise JobError(f"run request #{req.id} is running (claimed by {now.claimed_by}); stop its run with: "
                           f"python -m jobs cancel RUN_ID (see python -m jobs runs)")
        raise JobError(f"run request #{req.id} is no longer waiting: {now.status} ({now.outcome or '-'})")
    print(f"dropped run request #{req.id} ({req.ticker} {req.request.action}, asked by {req.request.requested_by}); "
          f"recorded as dropped by {actor} at {ctx.now():%Y-%m-%d %H:%M:%S} UTC")
    return 0
