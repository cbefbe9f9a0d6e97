"""``export WHAT``: CSV or JSON on stdout for scripts. Each exporter is one function."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

from marketdata.outputs import BASELINES, CELLS
from marketdata.prices import load_prices

from ..context import bootstrap
from ..errors import JobError
from . import argtypes


def export_prices(ctx, args) -> None:
    ticker = args.ticker or ctx.settings.default_ticker
    frame = load_prices(ctx.engine, ticker)
    if frame.empty:
        raise JobError(f"no prices stored for {ticker}; run: python -m jobs init")
    out = frame.rename(columns=str.capitalize)
    out.index = out.index.strftime("%Y-%m-%d")
    out.index.name = "Date"
    # Fixed decimals so two exports of the same store are byte-for-byte equal.
    out.to_csv(sys.stdout, float_format="%.6f", lineterminator="\n")


def _champion(ctx, ticker: str, cell: str):
    from marketdata.registry import champion

    if cell not in CELLS:
        raise JobError(f"unknown cell type {cell!r}; choose from {', '.join(CELLS)}")
    champ = champion(ctx.engine, ticker, cell)
    if champ is None:
        raise JobError(f"no {cell} model for {ticker} yet; run: python -m jobs train --cells {cell}")
    return champ


def export_predictions(ctx, args) -> None:
    """The champion's one-step-ahead prediction for every test-period day."""
    from marketdata.registry import load_outputs

    ticker = args.ticker or ctx.settings.default_ticker
    champ = _champion(ctx, ticker, args.cell.lower())
    pred = load_outputs(ctx.engine, champ.id)["predictions"]
    out = sys.stdout
    out.write("Date,Actual,Predicted,Residual\n")
    for row in zip(pred["dates"], pred["actual"], pred["predicted"], pred["residual"]):
        out.write("%s,%.6f,%.6f,%.6f\n" % row)


def export_metrics(ctx, args) -> None:
    """Per cell: its champion's metric table on its test window, baselines beside it."""
    ticker = args.ticker or ctx.settings.default_ticker
    from marketdata.registry import champion

    cells = {}
    for cell in CELLS:
        champ = champion(ctx.engine, ticker, cell)
        if champ is None:
            continue
        m = champ.metrics
        cells[cell] = {
            "model_id": champ.id,
            "version": champ.version,
            "kind": champ.kind,
            "test_start": champ.test_start.isoformat(),
            "test_days": m["test_days"],
            "horizon": m["horizon"],
            "rows": {name: m["rows"][name] for name in (cell, *BASELINES)},
        }
    if not cells:
        raise JobError(f"no trained models for {ticker} yet; run: python -m jobs train")
    json.dump({"ticker": ticker, "cells": cells}, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


EXPORTERS: dict[str, Callable] = {"prices": export_prices, "predictions": export_predictions, "metrics": export_metrics}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write prices, predictions or metrics to stdout")
    p.add_argument("what", choices=sorted(EXPORTERS_CHOICES()))
    p.add_argument("--ticker", type=argtypes.ticker, help="default: first of TICKERS")
    p.add_argument("--cell", default="gru", help="cell type for predictions (simplernn, lstm, gru)")
    p.set_defaults(handler=cmd_export)


def EXPORTERS_CHOICES() -> list[str]:
    return list(EXPORTERS)


def cmd_export(args) -> int:
    ctx = bootstrap()
    EXPORTERS[args.what](ctx, args)
    return 0
