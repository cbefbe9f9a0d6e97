"""Walk-forward backtest of a champion: how it would have done live over the test period."""
from __future__ import annotations

import pandas as pd

from store import registry
from contract.vocab import CELLS

from .errors import Cancelled, JobError
from .progress import CancelFn, ProgressFn, never_cancel, no_progress
from .candidates import FINETUNE_LR_FACTOR, _models, _prices


def backtest_cell(
    ctx,
    ticker: str,
    cell: str = "gru",
    *,
    every: int = 20,
    mode: str = "finetune",
    epochs: int = 5,
    progress: ProgressFn = no_progress,
    should_cancel: CancelFn = never_cancel,
    prices: pd.DataFrame | None = None,
):
    """Walk the champion of ``cell`` forward over its own test window; returns a WalkForward.

    Nothing is stored: this answers "how would updating every K days have done".
    """
    features, network, _, training = _models()
    from models.backtest import WalkPlan, walk_forward
    from models.serialization import StoredCell

    if cell not in CELLS:
        raise JobError(f"unknown cell type {cell!r}; choose from {', '.join(CELLS)}")
    champ = registry.champion(ctx.engine, ticker, cell)
    if champ is None:
        raise JobError(f"no {cell} champion for {ticker} to backtest; run: python -m jobs train --cells {cell}")
    frame = _prices(ctx, ticker, prices)
    hp = network.Hyperparams.from_dict(champ.hyperparams)
    dates = features.returns_frame(frame).index
    split = features.split_at_dates(dates, pd.Timestamp(champ.val_start), pd.Timestamp(champ.test_start))
    try:
        return walk_forward(
            StoredCell(registry.load_model_bytes(ctx.engine, champ.id), hp,
                       features.Scaler.from_dict(champ.hyperparams["scaler"]), split),
            frame, WalkPlan(every=every, mode=mode, warm_start=training.WarmStart(epochs, FINETUNE_LR_FACTOR)),
            training.FitControls(seed=champ.seed, should_cancel=should_cancel),
            on_step=lambda k, n: progress(k / n, f"{cell} backtest ({mode} every {every} days): block {k}/{n}"),
        )
    except training.TrainingCancelled as exc:
        who = getattr(should_cancel, "reason", "") or "cancelled"  # e.g. "SIGTERM received"
        raise Cancelled(f"{exc} ({who}); nothing is stored by a backtest") from None
    except ValueError as exc:
        raise JobError(f"{ticker} {cell} backtest: {exc}") from None
