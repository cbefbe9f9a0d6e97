"""``export WHAT``: CSV or JSON on stdout for scripts. Each exporter is one function."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Callable, TextIO

import pandas as pd

from contract.vocab import BASELINE_INFO, CELLS, DEFAULT_CELL, Baseline, Cell, parse
from contract.outputs import Backtest
from store.prices import load_prices

from ..context import build_context
from ..errors import JobError
from . import argtypes


def export_prices(ctx, args) -> None:
    ticker = args.ticker or ctx.settings.default_ticker
    frame = load_prices(ctx.engine, ticker)
    if frame.empty:
        raise JobError(f"no prices stored for {ticker}; run: python -m jobs init")
    out = frame.rename(columns=str.capitalize)
    out.index = pd.DatetimeIndex(out.index).strftime("%Y-%m-%d")
    out.index.name = "Date"
    # Fixed decimals so two exports of the same store are byte-for-byte equal.
    out.to_csv(sys.stdout, float_format="%.6f", lineterminator="\n")


def _champion(ctx, ticker: str, cell: str):
    from store.registry import champion

    cell = parse(Cell, cell, "cell type")
    champ = champion(ctx.engine, ticker, cell)
    if champ is None:
        raise JobError(f"no {cell} model for {ticker} yet; run: python -m jobs train --cells {cell}")
    return champ


def export_predictions(ctx, args) -> None:
    """The champion's one-step-ahead prediction for every test-period day."""
    from store.registry import load_outputs

    ticker = args.ticker or ctx.settings.default_ticker
    champ = _champion(ctx, ticker, args.cell.lower())
    pred = load_outputs(ctx.engine, champ.id)["predictions"]
    out = sys.stdout
    out.write("Date,Actual,Predicted,Residual\n")
    for row in zip(pred["dates"], pred["actual"], pred["predicted"], pred["residual"]):
        out.write("%s,%.6f,%.6f,%.6f\n" % row)


def export_metrics(ctx, args) -> None:
    """Per cell: its champion's rolling-origin figures (every row, horizon, interval, test), and the comparison."""
    ticker = args.ticker or ctx.settings.default_ticker
    from store.queries import latest_comparison
    from store.registry import champion

    cells, ids = {}, {}
    for cell in CELLS:
        champ = champion(ctx.engine, ticker, cell)
        if champ is None:
            continue
        m = champ.metrics
        ids[str(cell)] = champ.id
        cells[cell] = {
            "model_id": champ.id,
            "version": champ.version,
            "kind": champ.kind,
            "test_start": champ.test_start.isoformat(),
            "test_days": m["test_days"],
            "horizon": m["horizon"],
            "promotion": champ.hyperparams.get("promotion"),
            **{k: v for k, v in m.items() if k not in ("cell", "horizon", "test_days")},
        }
    if not cells:
        raise JobError(f"no trained models for {ticker} yet; run: python -m jobs train")
    comparison = latest_comparison(ctx.engine, ticker, ids) if len(ids) > 1 else None
    json.dump({"ticker": ticker, "cells": cells, "comparison": comparison}, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def export_ledger(ctx, args) -> None:
    """Every ledger row (of a ticker, of a kind), oldest publication first."""
    from store.ledger import csv_text, export_frame, has_rows

    from .ledger import configured_ticker

    ticker = configured_ticker(ctx, args.ticker) if args.ticker else None  # None: every ticker
    if not has_rows(ctx.engine, ticker, args.kind):
        raise JobError(f"no {args.kind or 'published'} forecasts in the ledger{' for ' + ticker if ticker else ''} "
                       f"yet; runs publish them, or: python -m jobs ledger backfill --days 20")
    sys.stdout.write(csv_text(export_frame(ctx.engine, ticker=ticker, kind=args.kind)))


# --cell name -> key in the stored backtest; persistence carries the random-walk band
BACKTEST_BASELINES = {**{name: b.value for b in Baseline for name in (b.value, *BASELINE_INFO[b].aliases)},
                      "garch": "garch_band", "conformal": "conformal_band"}


def export_backtest(ctx, args) -> None:
    """One row per reported rolling origin and horizon of a cell's champion, or of a baseline.

    Baselines are read from the GRU champion's backtest (the same origins as it), or from
    the first champion there is.
    """
    from store.registry import champion, load_output

    ticker = (args.ticker or ctx.settings.default_ticker).upper()
    name = args.cell.lower()
    if name in CELLS:
        owner, key = _champion(ctx, ticker, name), name
    elif name in BACKTEST_BASELINES:
        key = BACKTEST_BASELINES[name]
        owner = next((c for c in (champion(ctx.engine, ticker, x) for x in (DEFAULT_CELL, *CELLS)) if c), None)
        if owner is None:
            raise JobError(f"no trained models for {ticker} yet; run: python -m jobs train")
    else:
        raise JobError(f"unknown --cell {name!r}; choose from {', '.join((*CELLS, *BACKTEST_BASELINES))}")
    bt = load_output(ctx.engine, owner.id, "backtest")
    if not bt:
        raise JobError(f"model {owner.id} ({owner.cell}) has no rolling backtest stored (trained before rolling "
                       f"evaluation); retrain: python -m jobs train --cells {owner.cell}")
    if key not in bt.get("models", {}):
        raise JobError(f"model {owner.id} ({owner.cell}) stored no {name} band (trained before the baseline bands); "
                       f"retrain: python -m jobs train --cells {owner.cell}")
    write_backtest_csv(bt, key, sys.stdout)


def write_backtest_csv(bt: Backtest, key: str, out: TextIO) -> None:
    """``Origin,Date,Horizon,Actual,Predicted,Lower80,Upper80,Lower95,Upper95``; realised targets only."""
    entry, dates = bt["models"][key], bt["dates"]
    out.write("Origin,Date,Horizon,Actual,Predicted,Lower80,Upper80,Lower95,Upper95\n")
    def fmt(v: float | None) -> str:
        return "" if v is None else f"{v:.4f}"  # empty where a forecaster has no band

    for k, actual in enumerate(bt["actual"]):
        for h, value in enumerate(actual, start=1):
            if value is None:  # the target lies past the end of the data
                continue
            band = [fmt(entry[c][k][h - 1]) if c in entry else "" for c in ("lower80", "upper80", "lower95", "upper95")]
            out.write(",".join([dates[k], dates[k + h], str(h), fmt(value), fmt(entry["predicted"][k][h - 1]), *band]) + "\n")


EXPORTERS: dict[str, Callable] = {"prices": export_prices, "predictions": export_predictions, "metrics": export_metrics,
                                  "backtest": export_backtest, "ledger": export_ledger}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write prices, predictions, metrics or a rolling backtest to stdout")
    p.add_argument("what", choices=sorted(EXPORTERS_CHOICES()))
    p.add_argument("--ticker", type=argtypes.ticker, help="default: first of TICKERS")
    p.add_argument("--cell", default=DEFAULT_CELL, help=f"cell type for predictions/backtest ({', '.join(CELLS)}); "
                                                      f"backtest also takes {', '.join(BACKTEST_BASELINES)} (random_walk: "
                                                      "persistence with its band)")
    p.add_argument("--kind", choices=["live", "replayed"], help="ledger rows of this kind only (default: both)")
    p.set_defaults(handler=cmd_export)


def EXPORTERS_CHOICES() -> list[str]:
    return list(EXPORTERS)


def cmd_export(args) -> int:
    ctx = build_context()
    EXPORTERS[args.what](ctx, args)
    return 0
