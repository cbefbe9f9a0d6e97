"""simulate: replay the last N trading days night by night under a retraining policy."""
from __future__ import annotations

import argparse
import json
import sys

from ..context import build_context
from . import argtypes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="replay the last N trading days night by night under a retraining policy")
    p.add_argument("--nights", type=argtypes.int_in(1, 5000), default=20)
    p.add_argument("--policy", default="finetune,retrain,none",
                   help="finetune, retrain, none, or a comma-separated list (default: all three)")
    p.add_argument("--epochs", type=argtypes.epochs, help="epochs of the initial training and of each retrain")
    p.add_argument("--finetune-epochs", type=argtypes.epochs, help="epochs of each nightly fine-tune")
    p.add_argument("--ticker", type=argtypes.ticker)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_simulate, long_running=True)


def cmd_simulate(args: argparse.Namespace) -> int:
    from ..simulate import SimulationPlan, format_table, simulate

    policies = tuple(p.strip() for p in args.policy.split(",") if p.strip())
    ctx = build_context()
    plan = SimulationPlan(nights=args.nights, policies=policies, ticker=args.ticker, epochs=args.epochs,
                          finetune_epochs=args.finetune_epochs)
    result = simulate(ctx, plan, progress=lambda m: print(m, file=sys.stderr, flush=True),
                      should_cancel=args.should_cancel)
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0
