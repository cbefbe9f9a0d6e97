"""``export WHAT``: CSV or JSON on stdout for scripts. Each exporter is one function."""
from __future__ import annotations

import argparse
import sys
from typing import Callable

from marketdata.prices import load_prices

from ..context import bootstrap
from ..errors import JobError


def export_prices(ctx, args) -> None:
    ticker = (args.ticker or ctx.settings.default_ticker).upper()
    frame = load_prices(ctx.engine, ticker)
    if frame.empty:
        raise JobError(f"no prices stored for {ticker}; run: python -m jobs init")
    out = frame.rename(columns=str.capitalize)
    out.index = out.index.strftime("%Y-%m-%d")
    out.index.name = "Date"
    # Fixed decimals so two exports of the same store are byte-for-byte equal.
    out.to_csv(sys.stdout, float_format="%.6f", lineterminator="\n")


EXPORTERS: dict[str, Callable] = {"prices": export_prices}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write prices, predictions or metrics to stdout")
    p.add_argument("what", choices=sorted(EXPORTERS_CHOICES()))
    p.add_argument("--ticker", help="default: first of TICKERS")
    p.add_argument("--cell", default="gru", help="cell type for predictions (simplernn, lstm, gru)")
    p.set_defaults(handler=cmd_export)


def EXPORTERS_CHOICES() -> list[str]:
    return list(EXPORTERS)


def cmd_export(args) -> int:
    ctx = bootstrap()
    EXPORTERS[args.what](ctx, args)
    return 0
