"""alerts: check the alert conditions now, list the incidents (``alerts``)."""
from __future__ import annotations

import argparse
import json

from store import incidents

from ..context import build_context
from . import argtypes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="alert incidents: check the conditions now, or list them")
    alerts_sub = p.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    c = alerts_sub.add_parser("check", help="evaluate every alert condition once; send what opened or cleared")
    c.set_defaults(handler=cmd_check)
    ls = alerts_sub.add_parser("list", help="the newest incidents, open first")
    ls.add_argument("--limit", type=argtypes.int_in(1, 200), default=20)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=cmd_list)


def cmd_check(args: argparse.Namespace) -> int:
    from alerts.check import check

    ctx = build_context()
    changes = check(ctx.engine, ctx.settings, ctx.now())
    for line in changes:
        print(line)
    print(f"{len(changes)} change(s); open incidents: {len(incidents.open_incidents(ctx.engine))}"
          + ("" if ctx.settings.alerts.webhook_url else " (no ALERT_WEBHOOK_URL: recorded only)"))
    return 0


def _delivery(i: incidents.StoredIncident, url_set: bool) -> str:
    if i.pending is None:
        return "sent"
    if not url_set:
        return "recorded only"
    return f"not sent ({i.attempts} failed round(s): {i.delivery_error})" if i.delivery_error else "sending"


def cmd_list(args: argparse.Namespace) -> int:
    ctx = build_context()
    rows = incidents.recent(ctx.engine, args.limit)
    url_set = ctx.settings.alerts.webhook_url is not None
    if args.json:
        print(json.dumps([{**i.__dict__, "delivery": _delivery(i, url_set)} for i in rows], indent=2, default=str))
        return 0
    if not rows:
        print("no incidents")
        return 0
    for i in rows:
        state = "OPEN" if i.cleared_at is None else f"cleared {i.cleared_at:%Y-%m-%d %H:%M}"
        print(f"#{i.id:<4} {i.kind:<16} {state:<22} since {i.since:%Y-%m-%d %H:%M} UTC  "
              f"[{_delivery(i, url_set)}]  {i.message}")
    return 0
