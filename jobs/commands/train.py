"""train, finetune: fit networks on the stored prices, store them, promote the better ones.

Both go through ``run_pipeline`` like the nightly clock and the admin UI: they take
the ticker's training lease (refused while another training of it runs) and are
recorded in the run history. They train on the stored prices as they are (no update).
"""
from __future__ import annotations

import argparse
import sys

from typing import Any

from contract.run import RunRequest
from contract.vocab import CELLS, DEFAULT_CELL, FINETUNE_EPOCHS, RunStatus

from ..context import build_context
from ..errors import JobError
from . import argtypes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help=f"train {'/'.join(c.label for c in CELLS)} networks from scratch and store them")
    p.add_argument("--cells", type=argtypes.cells, default=CELLS, help=f"comma-separated cell types (default: all of {','.join(CELLS)})")
    p.add_argument("--epochs", type=argtypes.epochs, help="maximum epochs per cell (early stopping may end sooner)")
    p.add_argument("--seed", type=argtypes.seed, default=42)
    p.add_argument("--ticker", type=argtypes.ticker, help="default: first of TICKERS")
    p.add_argument("--no-promote", action="store_true", help="store the models but never promote them")
    p.set_defaults(handler=cmd_train, long_running=True)

    p = sub.add_parser("finetune", help="continue the champion on the newest data; promote if not worse")
    p.add_argument("--cell", default=DEFAULT_CELL, choices=CELLS)
    p.add_argument("--epochs", type=argtypes.epochs, help=f"fine-tune epochs (default {FINETUNE_EPOCHS})")
    p.add_argument("--ticker", type=argtypes.ticker, help="default: first of TICKERS")
    p.set_defaults(handler=cmd_finetune, long_running=True)

    p = sub.add_parser("backtest", help="walk the champion forward over its test period (CSV to stdout)")
    p.add_argument("--cell", default=DEFAULT_CELL, choices=CELLS)
    p.add_argument("--every", type=argtypes.int_in(1, 10_000), default=20, help="update the model every K trading days (default 20)")
    p.add_argument("--mode", default="finetune", choices=["finetune", "refit"])
    p.add_argument("--epochs", type=argtypes.epochs, default=FINETUNE_EPOCHS,
                   help=f"epochs per fine-tune update (default {FINETUNE_EPOCHS})")
    p.add_argument("--ticker", type=argtypes.ticker, help="default: first of TICKERS")
    p.set_defaults(handler=cmd_backtest, long_running=True)


def stderr_progress(fraction: float, message: str) -> None:
    print(f"[{fraction:6.1%}] {message}", file=sys.stderr, flush=True)


def _train(args: argparse.Namespace, **fields: Any) -> int:
    """Train on the stored prices; one line per stored model, or JobError with the run's error."""
    from ..requests import recorded
    from ..run import RunHooks, run_pipeline  # TensorFlow is imported only once training starts
    from .nightly import cli_claimer

    ctx = build_context()
    request = RunRequest.build(args.ticker or ctx.settings.default_ticker, trigger="manual",
                               requested_by=argtypes.cli_user(), epochs=args.epochs, update_prices=False,
                               **fields)
    # recorded in the queue, claimed by this process and run here, in the foreground
    result = recorded(run_pipeline, cli_claimer())(ctx, request, RunHooks(progress=stderr_progress,
                                                                         should_cancel=args.should_cancel))
    if result.status is not RunStatus.SUCCEEDED:
        raise JobError(result.summary())
    for model in result.models:
        print(model.line())
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    return _train(args, action="retrain", cells=args.cells, seed=args.seed, promote=not args.no_promote)


def cmd_finetune(args: argparse.Namespace) -> int:
    return _train(args, action="finetune", cells=[args.cell])


def cmd_backtest(args: argparse.Namespace) -> int:
    from ..champion_backtest import BacktestPlan, backtest_cell
    from ..progress import Follow

    ctx = build_context()
    ticker = args.ticker or ctx.settings.default_ticker
    wf = backtest_cell(ctx, ticker, args.cell, BacktestPlan(every=args.every, mode=args.mode, epochs=args.epochs),
                       Follow(stderr_progress, args.should_cancel))
    out = sys.stdout
    out.write("Date,Actual,Predicted,Residual,Persistence\n")
    for d, a, p, b in zip(wf.dates, wf.actual, wf.predicted, wf.persistence):
        out.write("%s,%.6f,%.6f,%.6f,%.6f\n" % (d, a, p, a - p, b))
    print(f"walk-forward {args.cell} ({args.mode} every {args.every} days, {len(wf.updates)} updates): "
          f"one-step RMSE {wf.rmse():.4f} vs persistence {wf.rmse('persistence'):.4f} "
          f"(ratio {wf.rmse() / wf.rmse('persistence'):.4f})", file=sys.stderr)
    return 0
