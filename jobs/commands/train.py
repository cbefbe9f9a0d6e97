"""train, finetune: fit networks on the stored prices, store them, promote the better ones."""
from __future__ import annotations

import argparse
import sys

from marketdata.outputs import CELLS

from ..context import bootstrap
from ..errors import JobError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train SimpleRNN/LSTM/GRU networks from scratch and store them")
    p.add_argument("--cells", default=",".join(CELLS), help="comma-separated cell types (default: all three)")
    p.add_argument("--epochs", type=int, help="maximum epochs per cell (early stopping may end sooner)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--ticker", help="default: first of TICKERS")
    p.add_argument("--no-promote", action="store_true", help="store the models but never promote them")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("finetune", help="continue the champion on the newest data; promote if not worse")
    p.add_argument("--cell", default="gru", choices=CELLS)
    p.add_argument("--epochs", type=int, help="fine-tune epochs (default 5)")
    p.add_argument("--ticker", help="default: first of TICKERS")
    p.set_defaults(handler=cmd_finetune)

    p = sub.add_parser("backtest", help="walk the champion forward over its test period (CSV to stdout)")
    p.add_argument("--cell", default="gru", choices=CELLS)
    p.add_argument("--every", type=int, default=20, help="update the model every K trading days (default 20)")
    p.add_argument("--mode", default="finetune", choices=["finetune", "refit"])
    p.add_argument("--epochs", type=int, default=5, help="epochs per fine-tune update (default 5)")
    p.add_argument("--ticker", help="default: first of TICKERS")
    p.set_defaults(handler=cmd_backtest)


def stderr_progress(fraction: float, message: str) -> None:
    print(f"[{fraction:6.1%}] {message}", file=sys.stderr, flush=True)


def _line(o) -> str:
    row = o.metrics["rows"][o.cell]
    pers = o.metrics["rows"]["persistence"]["rmse"]
    verdict = "promoted" if o.promoted else f"not promoted (champion stays {o.previous_champion_id})"
    return (f"{o.cell:<10} model {o.model_id:<5} {o.kind:<8} RMSE {row['rmse']:.4f} vs persistence {pers:.4f} "
            f"(ratio {row['rmse_ratio']:.3f})  {o.seconds:6.1f}s  {verdict}")


def cmd_train(args) -> int:
    from ..training import train_cells

    ctx = bootstrap()
    cells = [c.strip().lower() for c in args.cells.split(",") if c.strip()]
    if args.epochs is not None and args.epochs < 1:
        raise JobError(f"--epochs must be at least 1, got {args.epochs}")
    ticker = (args.ticker or ctx.settings.default_ticker).upper()
    outcomes = train_cells(ctx, ticker, cells, epochs=args.epochs, seed=args.seed,
                           progress=stderr_progress, promote=not args.no_promote)
    for o in outcomes:
        print(_line(o))
    return 0


def cmd_finetune(args) -> int:
    from ..training import finetune_cell

    ctx = bootstrap()
    ticker = (args.ticker or ctx.settings.default_ticker).upper()
    print(_line(finetune_cell(ctx, ticker, args.cell, epochs=args.epochs, progress=stderr_progress)))
    return 0


def cmd_backtest(args) -> int:
    from ..backtest import backtest_cell

    ctx = bootstrap()
    ticker = (args.ticker or ctx.settings.default_ticker).upper()
    wf = backtest_cell(ctx, ticker, args.cell, every=args.every, mode=args.mode, epochs=args.epochs,
                       progress=stderr_progress)
    out = sys.stdout
    out.write("Date,Actual,Predicted,Residual,Persistence\n")
    for d, a, p, b in zip(wf.dates, wf.actual, wf.predicted, wf.persistence):
        out.write("%s,%.6f,%.6f,%.6f,%.6f\n" % (d, a, p, a - p, b))
    print(f"walk-forward {args.cell} ({args.mode} every {args.every} days, {len(wf.updates)} updates): "
          f"one-step RMSE {wf.rmse():.4f} vs persistence {wf.rmse('persistence'):.4f} "
          f"(ratio {wf.rmse() / wf.rmse('persistence'):.4f})", file=sys.stderr)
    return 0
