"""``ledger backfill``: replay the last N trading days into the forecast ledger as ``replayed`` rows.

(The ledger's CSV is ``python -m jobs export ledger``.)
"""
from __future__ import annotations

import argparse
import sys

from ..context import build_context
from ..errors import JobError
from . import argtypes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ledger", help="the forecast ledger: backfill a track record by replaying past days")
    ledger_sub = p.add_subparsers(dest="ledger_command", required=True, metavar="ACTION")
    b = ledger_sub.add_parser("backfill", help="replay the last N trading days through the pipeline (replayed rows)")
    b.add_argument("--ticker", type=argtypes.ticker, help="default: first of TICKERS")
    b.add_argument("--days", type=int, required=True, help="trading days to replay, one night at a time")
    b.add_argument("--epochs", type=int, help="maximum epochs of each training (default: the pipeline's)")
    b.set_defaults(handler=cmd_backfill)


def configured_ticker(ctx, ticker: str | None) -> str:
    """The ticker asked for, if it is one of TICKERS (else JobError naming them)."""
    wanted = (ticker or ctx.settings.default_ticker).strip().upper()
    if wanted not in ctx.settings.tickers:
        raise JobError(f"--ticker {ticker!r} is not configured; TICKERS has {', '.join(ctx.settings.tickers)}")
    return wanted


def cmd_backfill(args) -> int:
    if args.epochs is not None and args.epochs < 1:
        raise JobError(f"--epochs must be at least 1, got {args.epochs}")
    from ..backfill import MAX_DAYS, backfill  # imports the pipeline; TensorFlow only once training starts

    if not 1 <= args.days <= MAX_DAYS:
        raise JobError(f"--days must be within 1..{MAX_DAYS}, got {args.days}")
    ctx = build_context()
    ticker = configured_ticker(ctx, args.ticker)
    result = backfill(ctx, ticker=ticker, days=args.days, epochs=args.epochs,
                      progress=lambda m: print(m, file=sys.stderr, flush=True))
    print(result.line())
    return 0
