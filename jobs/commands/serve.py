"""serve: every champion forecasts h=1..5 from the newest stored close, now, without training."""
from __future__ import annotations

import argparse
import sys

from ..context import build_context
from ..errors import JobError
from . import argtypes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="forecast from the newest stored close with every champion (no training)")
    p.add_argument("--ticker", type=argtypes.ticker, help="default: every ticker in TICKERS")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    """One stdout line per ticker; a ticker with nothing to serve from is an ``error:`` line (exit 2)."""
    from ..serve import checked_tickers, serve_and_publish

    ctx = build_context()
    tickers = checked_tickers(ctx, args.ticker)

    def progress(_fraction: float, message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    errors = []
    for ticker in tickers:
        result = serve_and_publish(ctx, ticker, progress)
        if result.origin is None:
            errors.append(f"no prices stored for {ticker}; run: python -m jobs init --ticker {ticker}")
        elif not (result.served or result.current or result.failed):
            errors.append(f"no champion of {ticker} to serve; run: python -m jobs train --ticker {ticker}")
        else:
            print(result.line())
        if result.failed:
            errors.append(f"{ticker}: could not serve {', '.join(result.failed)} (see the log line above)")
    if len(errors) == 1 and len(tickers) == 1:
        raise JobError(errors[0])
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    return 2 if errors else 0
