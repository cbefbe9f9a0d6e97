"""The one training code path: the CLI, the nightly clock and the admin UI all call these.

``train_cells`` trains fresh networks, ``finetune_cell`` continues the champion.
Both evaluate, store every model with its outputs, and promote by this rule:

**Promotion rule.** The first model of a (ticker, cell) is promoted. A later
model is promoted only if its one-step-ahead price RMSE is not higher than the
current champion's on the *same evaluation window*: the champion is re-scored
now, on the same prices, with its own stored scaler and window length, over the
test rows from ``max(candidate test_start, champion test_start)`` to the newest
day. Neither model was fit on any day of that window (validation and test are
never trained on). If the champion cannot be scored there (its test period
starts after these prices end, e.g. in a replay of the past), it has seen the
whole window, so the comparison would be unfair and the candidate is promoted.
Models that lose are stored all the same (``promoted=False``).
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Iterable

import pandas as pd

from marketdata import registry
from marketdata.calendar import next_trading_days
from marketdata.db import retry_on_outage
from marketdata.outputs import CELLS
from marketdata.prices import data_fingerprint, load_prices

from .context import JobContext
from .errors import Cancelled, JobError
from .progress import CancelFn, ProgressFn, never_cancel, no_progress

log = logging.getLogger(__name__)

FINETUNE_EPOCHS = 5
FINETUNE_LR_FACTOR = 0.1


@dataclass
class TrainOutcome:
    model_id: int
    cell: str
    kind: str  # train | finetune
    promoted: bool
    metrics: dict  # the Metrics payload of the new model (its own test window)
    previous_champion_id: int | None  # champion before this run (still champion if not promoted)
    champion_metrics: dict | None  # Metrics payload of that champion re-scored on the same window
    seconds: float


def _models():
    """Import the TensorFlow side only when training actually runs."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # silence TF's C++ info lines on stderr
    from models import features, network, pipeline, training

    return features, network, pipeline, training


def _retry(ctx, fn, what: str):
    """Store reads/writes retried through a database outage (STORE_RETRY_SECONDS), then StoreUnavailable."""
    return retry_on_outage(fn, what=what, budget_s=ctx.settings.schedule.store_retry_s)


def _prices(ctx, ticker: str, prices: pd.DataFrame | None) -> pd.DataFrame:
    frame = _retry(ctx, lambda: load_prices(ctx.engine, ticker), f"loading {ticker} prices") \
        if prices is None else prices
    if frame.empty:
        raise JobError(f"no prices stored for {ticker}; run: python -m jobs init")
    return frame


def _epoch_reporter(progress: ProgressFn, label: str, lo: float, hi: float):
    def on_epoch(epoch: int, max_epochs: int, logs: dict) -> None:
        progress(lo + (hi - lo) * epoch / max_epochs,
                 f"{label}: epoch {epoch}/{max_epochs} loss {logs['loss']:.4f} val_loss {logs['val_loss']:.4f}")
    return on_epoch


def _compare(engine, fit, champ, prices: pd.DataFrame):
    """(promote?, champion Metrics on the shared window or None, reason)."""
    features, network, pipeline, _ = _models()
    if champ is None:
        return True, None, "first model of this cell"
    cand_test = pd.Timestamp(fit.prepared.dates[fit.prepared.test_start])
    start = max(cand_test, pd.Timestamp(champ.test_start))
    try:
        champ_eval = pipeline.score_stored(
            registry.load_model_bytes(engine, champ.id), network.Hyperparams.from_dict(champ.hyperparams),
            features.Scaler.from_dict(champ.hyperparams["scaler"]), prices, pd.Timestamp(champ.val_start), start,
        )
    except ValueError as exc:
        return True, None, f"champion {champ.id} cannot be scored on these prices ({exc})"
    if start == cand_test:
        cand_rmse = fit.evaluation.one_step_rmse
    else:
        cand_rmse = pipeline.score_model(fit.model, fit.hp, fit.prepared.scaler, prices,
                                         pd.Timestamp(fit.prepared.dates[fit.prepared.val_start]), start).one_step_rmse
    promote = cand_rmse <= champ_eval.one_step_rmse
    reason = (f"one-step RMSE from {start.date()}: new {cand_rmse:.4f} vs champion {champ.id} "
              f"{champ_eval.one_step_rmse:.4f}")
    return promote, champ_eval.metrics, reason


def _store(ctx, ticker, fit, prices, *, kind, seed, run_id, parent_id, split, allow_promote, actor, fit_seconds):
    """Compare with the champion, store the model and its outputs (promoting if it wins)."""
    started = time.perf_counter() - fit_seconds

    def compare():
        champ = registry.champion(ctx.engine, ticker, fit.hp.cell)
        return (champ, *_compare(ctx.engine, fit, champ, prices))

    champ, wins, champ_metrics, reason = _retry(ctx, compare, f"comparing the {fit.hp.cell} candidate with its champion")
    promote = allow_promote and wins
    p, ev = fit.prepared, fit.evaluation
    from models.evaluation import forecast_payload
    from models.serialization import model_to_bytes

    future = [d.isoformat() for d in next_trading_days(p.dates[-1].date(), p.horizon)]
    outputs = {
        "predictions": ev.predictions,
        "forecast": forecast_payload(p, fit.next_returns, ev.q80, ev.q95, future),
        "loss_curve": fit.history.as_payload(),
        "metrics": ev.metrics,
        "residual_diagnostics": ev.residual_diagnostics,
    }
    new = registry.NewModel(
        ticker=ticker, cell=fit.hp.cell, kind=kind,
        hyperparams={**fit.hp.to_dict(), "scaler": p.scaler.to_dict(), "split": split,
                     "best_epoch": fit.history.best_epoch, "promotion": reason},
        seed=seed, data_start=prices.index[0].date(), data_end=prices.index[-1].date(),
        val_start=p.dates[p.val_start].date(), test_start=p.dates[p.test_start].date(),
        data_hash=data_fingerprint(prices), metrics=ev.metrics,
        train_seconds=round(fit.history.seconds, 3), param_count=fit.param_count,
        keras_bytes=model_to_bytes(fit.model), parent_id=parent_id, run_id=run_id,
    )
    # One transaction (model, five outputs, champion): a retry after an outage never leaves half a model.
    model_id = _retry(
        ctx, lambda: registry.save_model(ctx.engine, new, outputs, promote=promote, actor=actor, now=ctx.now()),
        f"saving the {ticker} {fit.hp.cell} model",
    )
    log.info("%s %s model %s: %s; promoted=%s", ticker, fit.hp.cell, model_id, reason, promote)
    return TrainOutcome(
        model_id=model_id, cell=fit.hp.cell, kind=kind, promoted=promote, metrics=ev.metrics,
        previous_champion_id=champ.id if champ else None, champion_metrics=champ_metrics,
        seconds=round(time.perf_counter() - started, 3),
    )


def train_cells(
    ctx: JobContext,
    ticker: str,
    cells: Iterable[str],
    *,
    epochs: int | None = None,
    seed: int = 42,
    run_id: int | None = None,
    progress: ProgressFn = no_progress,
    should_cancel: CancelFn = never_cancel,
    prices: pd.DataFrame | None = None,
    promote: bool = True,
) -> list[TrainOutcome]:
    """Train a fresh network per cell type on all stored prices (or ``prices``), store each.

    Networks are fit first, stored after; on cancellation (Cancelled) nothing is stored.
    ``epochs`` caps the epochs (early stopping may end sooner); default: Hyperparams.epochs.
    """
    features, network, pipeline, training = _models()
    cells = list(cells)
    bad = [c for c in cells if c not in CELLS]
    if not cells or bad:
        raise JobError(f"unknown cell type(s) {', '.join(bad) or '(none)'}; choose from {', '.join(CELLS)}")
    if epochs is not None and epochs < 1:
        raise JobError(f"epochs must be at least 1, got {epochs}")
    frame = _prices(ctx, ticker, prices)
    split = features.SplitSpec()
    fits = []
    for k, cell in enumerate(cells):
        started = time.perf_counter()
        hp = network.Hyperparams(cell=cell, **({"epochs": epochs} if epochs else {}))
        progress(k / len(cells), f"{cell}: training on {len(frame)} days")
        try:
            fit = pipeline.fit_cell(
                frame, hp, split, seed=seed, should_cancel=should_cancel,
                on_epoch=_epoch_reporter(progress, cell, k / len(cells), (k + 1) / len(cells)),
            )
        except training.TrainingCancelled as exc:
            raise Cancelled(f"training cancelled during {cell} ({exc}); nothing was saved") from None
        except ValueError as exc:
            raise JobError(f"{ticker} {cell}: {exc}") from None
        fits.append((fit, time.perf_counter() - started))
    if should_cancel():
        raise Cancelled("training cancelled before saving; nothing was saved")
    split_info = {"test_days": split.test_days, "test_fraction": split.test_fraction, "val_fraction": split.val_fraction}
    outcomes = [
        _store(ctx, ticker, fit, frame, kind="train", seed=seed, run_id=run_id, parent_id=None, split=split_info,
               allow_promote=promote, actor="training", fit_seconds=fit_seconds)
        for fit, fit_seconds in fits
    ]
    progress(1.0, "training finished: " + ", ".join(
        f"{o.cell} model {o.model_id}{' (promoted)' if o.promoted else ''}" for o in outcomes))
    return outcomes


def finetune_cell(
    ctx: JobContext,
    ticker: str,
    cell: str = "gru",
    *,
    epochs: int | None = None,
    run_id: int | None = None,
    progress: ProgressFn = no_progress,
    should_cancel: CancelFn = never_cancel,
    prices: pd.DataFrame | None = None,
) -> TrainOutcome:
    """Continue the champion of ``cell`` for a few epochs at a tenth of its learning rate.

    The test window keeps the champion's length in trading days and ends at the
    newest day, so the days added since the champion was trained move into the
    training period (the oldest test days become training days) and the model
    is judged on the newest days, which it has not seen. The champion is
    re-scored on that same window and the fine-tuned model is promoted only if
    it is not worse (module docstring). Both outcomes are stored.
    """
    features, network, pipeline, training = _models()
    if cell not in CELLS:
        raise JobError(f"unknown cell type {cell!r}; choose from {', '.join(CELLS)}")
    champ = _retry(ctx, lambda: registry.champion(ctx.engine, ticker, cell), f"reading the {cell} champion")
    if champ is None:
        raise JobError(f"no {cell} champion for {ticker} to fine-tune; run: python -m jobs train --cells {cell}")
    frame = _prices(ctx, ticker, prices)
    started = time.perf_counter()
    hp = network.Hyperparams.from_dict(champ.hyperparams)
    scaler = features.Scaler.from_dict(champ.hyperparams["scaler"])
    val_fraction = (champ.hyperparams.get("split") or {}).get("val_fraction", features.SplitSpec().val_fraction)
    spec = features.SplitSpec(test_days=int(champ.metrics["test_days"]), val_fraction=val_fraction)
    n_epochs = epochs or FINETUNE_EPOCHS
    dates = features.returns_frame(frame).index
    split = spec.boundaries(len(dates))
    if split[1] < 0 or dates[split[1]].date() < champ.test_start:
        # The window would reach back into days the champion was trained on: no honest comparison.
        raise JobError(
            f"{ticker} prices end {frame.index[-1].date()}, before the {cell} champion's data "
            f"(test period from {champ.test_start}); fine-tune needs the champion's days plus newer ones; "
            f"retrain instead: python -m jobs train --cells {cell}"
        )
    progress(0.0, f"{cell}: fine-tuning model {champ.id} on {len(frame)} days")
    try:
        fit = pipeline.finetune_cell(
            _retry(ctx, lambda: registry.load_model_bytes(ctx.engine, champ.id), f"loading model {champ.id}"),
            hp, scaler, frame, split,
            epochs=n_epochs, lr_factor=FINETUNE_LR_FACTOR, seed=champ.seed, should_cancel=should_cancel,
            on_epoch=_epoch_reporter(progress, f"{cell} fine-tune", 0.0, 0.9),
        )
    except training.TrainingCancelled as exc:
        raise Cancelled(f"fine-tune cancelled ({exc}); nothing was saved") from None
    except ValueError as exc:
        raise JobError(f"{ticker} {cell} fine-tune: {exc}") from None
    if should_cancel():
        raise Cancelled("fine-tune cancelled before saving; nothing was saved")
    split_info = {"test_days": spec.test_days, "test_fraction": None, "val_fraction": spec.val_fraction}
    outcome = _store(ctx, ticker, fit, frame, kind="finetune", seed=champ.seed, run_id=run_id, parent_id=champ.id,
                     split=split_info, allow_promote=True, actor="finetune",
                     fit_seconds=time.perf_counter() - started)
    progress(1.0, f"{cell} fine-tune: model {outcome.model_id}, {'promoted' if outcome.promoted else 'not promoted'}")
    return outcome
