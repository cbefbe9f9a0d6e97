"""clock: the scheduler process (Procfile ``clock:``; never scale above one)."""
from __future__ import annotations

import argparse

from config.settings import PROCESS_GROUPS

from ..context import build_context


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("clock", help="the scheduler process (Procfile clock:, one only)")
    p.add_argument("--no-bootstrap", action="store_true", help="do not seed/train on a fresh store")
    p.set_defaults(handler=cmd_clock)


def cmd_clock(args: argparse.Namespace) -> int:
    from ..clock import run_clock

    return run_clock(build_context(uses=PROCESS_GROUPS["clock"]), first_start=not args.no_bootstrap)
