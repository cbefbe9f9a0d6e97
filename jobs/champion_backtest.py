"""Walk-forward backtest of a champion: how it would have done live over the test period."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from store import registry
from contract.vocab import DEFAULT_CELL, FINETUNE_EPOCHS, FINETUNE_LR_FACTOR, Cell, parse

from .errors import Cancelled, JobError
from .progress import Follow
from .candidates import prices_to_train_on, tf_models
from .stored import load_stored_cell, stored_split


@dataclass(frozen=True)
class BacktestPlan:
    """How the champion is updated on the walk: every ``every`` days, by ``mode``, for ``epochs`` epochs."""

    every: int = 20
    mode: str = "finetune"
    epochs: int = FINETUNE_EPOCHS


def backtest_cell(
    ctx,
    ticker: str,
    cell: str = DEFAULT_CELL,
    plan: BacktestPlan = BacktestPlan(),
    follow: Follow = Follow(),
    *,
    prices: pd.DataFrame | None = None,
):
    """Walk the champion of ``cell`` forward over its own test window; returns a WalkForward.

    Nothing is stored: this answers "how would updating every K days have done".
    """
    _, _, _, training = tf_models()
    from models.backtest import WalkPlan, walk_forward

    cell = parse(Cell, cell, "cell type")
    champ = registry.champion(ctx.engine, ticker, cell)
    if champ is None:
        raise JobError(f"no {cell} champion for {ticker} to backtest; run: python -m jobs train --cells {cell}")
    frame = prices_to_train_on(ctx, ticker, prices)
    every, mode = plan.every, plan.mode
    try:
        return walk_forward(
            load_stored_cell(ctx, champ, stored_split(champ, frame)),
            frame, WalkPlan(every=every, mode=mode, warm_start=training.WarmStart(plan.epochs, FINETUNE_LR_FACTOR)),
            training.FitControls(seed=champ.seed, should_cancel=follow.should_cancel),
            on_step=lambda k, n: follow.progress(k / n, f"{cell} backtest ({mode} every {every} days): block {k}/{n}"),
        )
    except training.TrainingCancelled as exc:
        who = getattr(follow.should_cancel, "reason", "") or "cancelled"  # e.g. "SIGTERM received"
        raise Cancelled(f"{exc} ({who}); nothing is stored by a backtest") from None
    except ValueError as exc:
        raise JobError(f"{ticker} {cell} backtest: {exc}") from None
