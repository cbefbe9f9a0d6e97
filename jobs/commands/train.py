"""train, finetune: fit networks on the stored prices, store them, promote the better ones.

Both go through ``run_pipeline`` like the nightly clock and the admin UI: they take
the ticker's training lease (refused while another training of it runs) and are
recorded in the run history. They train on the stored prices as they are (no update).
"""
from __future__ import annotations

import argparse
import getpass
import sys

from contract.vocab import CELLS

from ..context import bootstrap
from ..errors import JobError
from . import argtypes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train SimpleRNN/LSTM/GRU networks from scratch and store them")
    p.add_argument("--cells", default=",".join(CELLS), help="comma-separated cell types (default: all three)")
    p.add_argument("--epochs", type=argtypes.epochs, help="maximum epochs per cell (early stopping may end sooner)")
    p.add_argument("--seed", type=argtypes.seed, default=42)
    p.add_argument("--ticker", type=argtypes.ticker, help="default: first of TICKERS")
    p.add_argument("--no-promote", action="store_true", help="store the models but never promote them")
    p.set_defaults(handler=cmd_train, long_running=True)

    p = sub.add_parser("finetune", help="continue the champion on the newest data; promote if not worse")
    p.add_argument("--cell", default="gru", choices=CELLS)
    p.add_argument("--epochs", type=argtypes.epochs, help="fine-tune epochs (default 5)")
    p.add_argument("--ticker", type=argtypes.ticker, help="default: first of TICKERS")
    p.set_defaults(handler=cmd_finetune, long_running=True)

    p = sub.add_parser("backtest", help="walk the champion forward over its test period (CSV to stdout)")
    p.add_argument("--cell", default="gru", choices=CELLS)
    p.add_argument("--every", type=argtypes.int_in(1, 10_000), default=20, help="update the model every K trading days (default 20)")
    p.add_argument("--mode", default="finetune", choices=["finetune", "refit"])
    p.add_argument("--epochs", type=argtypes.epochs, default=5, help="epochs per fine-tune update (default 5)")
    p.add_argument("--ticker", type=argtypes.ticker, help="default: first of TICKERS")
    p.set_defaults(handler=cmd_backtest, long_running=True)


def stderr_progress(fraction: float, message: str) -> None:
    print(f"[{fraction:6.1%}] {message}", file=sys.stderr, flush=True)


def _lines(run: dict) -> list[str]:
    """One line per model the run stored (from its record), or JobError with the run's error."""
    if run["status"] != "succeeded":
        raise JobError(f"run #{run['id']} {run['ticker']} {run['status']}" + (f": {run['error']}" if run.get("error") else ""))
    out = []
    for m in run["detail"]["models"]:
        row = run["metrics_after"][m["cell"]]
        verdict = "promoted" if m["promoted"] else f"not promoted (champion stays {m['previous_champion_id']})"
        out.append(f"{m['cell']:<10} model {m['model_id']:<5} {m['kind']:<8} RMSE {row['rmse']:.4f} vs persistence "
                   f"{row['persistence_rmse']:.4f} (ratio {row['rmse_ratio']:.3f})  {m['seconds']:6.1f}s  {verdict}")
    return out


def _train_run(ctx, args, *, action: str, cells: list[str], **options) -> dict:
    from ..pipeline import run_pipeline  # TensorFlow is imported only once training starts

    return run_pipeline(
        ctx, ticker=args.ticker, trigger="manual", requested_by=f"cli:{getpass.getuser()}", action=action,
        cells=cells, epochs=args.epochs, update_prices=False, progress=stderr_progress,
        should_cancel=args.should_cancel, **options,
    )


def cmd_train(args) -> int:
    cells = [c.strip().lower() for c in args.cells.split(",") if c.strip()]
    if not cells:
        raise JobError(f"--cells names no cell type; choose from {', '.join(CELLS)}")
    run = _train_run(bootstrap(), args, action="retrain", cells=cells, seed=args.seed, promote=not args.no_promote)
    for line in _lines(run):
        print(line)
    return 0


def cmd_finetune(args) -> int:
    for line in _lines(_train_run(bootstrap(), args, action="finetune", cells=[args.cell])):
        print(line)
    return 0


def cmd_backtest(args) -> int:
    from ..backtest import backtest_cell

    ctx = bootstrap()
    ticker = args.ticker or ctx.settings.default_ticker
    wf = backtest_cell(ctx, ticker, args.cell, every=args.every, mode=args.mode, epochs=args.epochs,
                       progress=stderr_progress, should_cancel=args.should_cancel)
    out = sys.stdout
    out.write("Date,Actual,Predicted,Residual,Persistence\n")
    for d, a, p, b in zip(wf.dates, wf.actual, wf.predicted, wf.persistence):
        out.write("%s,%.6f,%.6f,%.6f,%.6f\n" % (d, a, p, a - p, b))
    print(f"walk-forward {args.cell} ({args.mode} every {args.every} days, {len(wf.updates)} updates): "
          f"one-step RMSE {wf.rmse():.4f} vs persistence {wf.rmse('persistence'):.4f} "
          f"(ratio {wf.rmse() / wf.rmse('persistence'):.4f})", file=sys.stderr)
    return 0
