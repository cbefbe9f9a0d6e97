"""Train, fine-tune and score one cell type on a price frame: the steps jobs strings together."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .evaluation import Evaluation, evaluate
from .features import Prepared, Scaler, SplitSpec, prepare, returns_frame, split_at_dates
from .intervals import IntervalSpec
from .network import Hyperparams, build_network
from .report import RollingReport, network_forecasts, rolling_report
from .rolling import RollingSpec, baseline_forecasts, network_paths
from .serialization import model_from_bytes  # noqa: F401 (jobs loads champions through here)
from .training import EpochFn, FitHistory, fit_network, set_determinism


@dataclass
class CellFit:
    model: object  # a keras.Model
    hp: Hyperparams
    prepared: Prepared
    history: FitHistory
    evaluation: Evaluation  # the stored model as it is, one split (promotion scores from it)
    next_returns: np.ndarray  # (H,) predicted daily returns after the last stored day
    param_count: int
    report: RollingReport | None = None  # rolling-origin figures: what is stored and shown
    rolling_seconds: float = 0.0


def predict_returns(model, p: Prepared, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Predicted daily returns for every origin from ``start`` to ``n`` inclusive.

    Origin ``n`` is the window of the newest L rows: the forecast. Returns
    (origins (N,), returns (N, H)).
    """
    origins = np.arange(max(start, p.window), p.n + 1)
    x = p.windows(origins)  # (N, L, F)
    scaled = np.asarray(model(x, training=False), dtype=float)  # (N, H); eager: no retracing per model
    return origins, p.to_returns(scaled)


def _finish(model, hp: Hyperparams, p: Prepared, history: FitHistory, rolling: RollingSpec | None,
            seed: int, should_cancel=None) -> CellFit:
    origins, returns = predict_returns(model, p, p.val_start)
    params = int(model.count_params())
    ev = evaluate(p, returns[:-1], origins[:-1], hp.cell, params, round(history.seconds, 3))
    fit = CellFit(model, hp, p, history, ev, returns[-1], params)
    if rolling is not None:
        started = time.perf_counter()
        fit.report = rolling_evaluation(model, hp, p, rolling, seed=seed, train_seconds=round(history.seconds, 3),
                                        should_cancel=should_cancel)
        fit.rolling_seconds = time.perf_counter() - started
    return fit


def rolling_evaluation(model, hp: Hyperparams, p: Prepared, rolling: RollingSpec, *, seed: int = 42,
                       train_seconds: float | None = None, intervals: IntervalSpec = IntervalSpec(),
                       should_cancel=None) -> RollingReport:
    """Rolling-origin forecasts of the network (warm-started every K days) and the baselines, scored."""
    returns, refits = network_paths(model, p, rolling, learning_rate=hp.learning_rate, batch_size=hp.batch_size,
                                    seed=seed, should_cancel=should_cancel)
    fc = network_forecasts(p, baseline_forecasts(p, rolling), hp.cell, returns)
    return rolling_report(p, fc, hp.cell, rolling, intervals, param_count=int(model.count_params()),
                          train_seconds=train_seconds, refits=refits)


def fit_cell(
    prices: pd.DataFrame,
    hp: Hyperparams,
    split: SplitSpec = SplitSpec(),
    *,
    seed: int = 42,
    on_epoch: EpochFn | None = None,
    should_cancel: Callable[[], bool] | None = None,
    rolling: RollingSpec | None = None,
) -> CellFit:
    """Train a fresh network of ``hp.cell`` and evaluate it on the test period."""
    set_determinism(seed)
    p = prepare(prices, hp.window, hp.horizon, split)
    x_tr, y_tr, x_va, y_va = p.train_arrays()
    model = build_network(hp, p.x.shape[1])
    history = fit_network(model, x_tr, y_tr, x_va, y_va, epochs=hp.epochs, batch_size=hp.batch_size,
                          patience=hp.patience, learning_rate=hp.learning_rate, seed=seed,
                          on_epoch=on_epoch, should_cancel=should_cancel)
    return _finish(model, hp, p, history, rolling, seed, should_cancel)


def finetune_cell(
    model_bytes: bytes,
    hp: Hyperparams,
    scaler: Scaler,
    prices: pd.DataFrame,
    split: tuple[int, int],
    *,
    epochs: int = 5,
    lr_factor: float = 0.1,
    seed: int = 42,
    on_epoch: EpochFn | None = None,
    should_cancel: Callable[[], bool] | None = None,
    rolling: RollingSpec | None = None,
) -> CellFit:
    """Continue training a stored model with ``lr_factor`` x its learning rate.

    The stored scaler is kept (the weights are tuned to it); ``split`` gives the
    (val_start, test_start) rows of ``prices``' feature table.
    """
    set_determinism(seed)
    p = prepare(prices, hp.window, hp.horizon, split, scaler=scaler)
    x_tr, y_tr, x_va, y_va = p.train_arrays()
    model = model_from_bytes(model_bytes)
    history = fit_network(model, x_tr, y_tr, x_va, y_va, epochs=epochs, batch_size=hp.batch_size,
                          patience=min(hp.patience, epochs), learning_rate=hp.learning_rate * lr_factor,
                          seed=seed, on_epoch=on_epoch, should_cancel=should_cancel)
    return _finish(model, hp, p, history, rolling, seed, should_cancel)  # the stored hp keep the base learning rate


def score_model(
    model,
    hp: Hyperparams,
    scaler: Scaler,
    prices: pd.DataFrame,
    val_start: pd.Timestamp,
    test_start: pd.Timestamp,
) -> Evaluation:
    """Evaluate a model on ``prices`` with validation from ``val_start`` and test from ``test_start``.

    Used to put a champion and a candidate on the same evaluation window.
    """
    dates = returns_frame(prices).index
    p = prepare(prices, hp.window, hp.horizon, split_at_dates(dates, val_start, test_start), scaler=scaler)
    origins, returns = predict_returns(model, p, p.val_start)
    return evaluate(p, returns[:-1], origins[:-1], hp.cell, int(model.count_params()))


def score_stored(model_bytes: bytes, hp: Hyperparams, scaler: Scaler, prices: pd.DataFrame,
                 val_start: pd.Timestamp, test_start: pd.Timestamp) -> Evaluation:
    """``score_model`` for a model stored as ``.keras`` bytes."""
    return score_model(model_from_bytes(model_bytes), hp, scaler, prices, val_start, test_start)


def one_step_between(model, hp: Hyperparams, scaler: Scaler, prices: pd.DataFrame,
                     start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """One-step-ahead predictions of ``model`` as it is (no refit) for target dates in [start, end).

    Columns: actual, predicted (closes); index: target date. Uses only the rows
    before each target, so it can score a stored champion on any later window.
    """
    p = prepare_unsplit(prices, hp, scaler)
    dates = p.dates
    lo, hi = int(dates.searchsorted(start)), int(dates.searchsorted(end))
    lo = max(lo, hp.window)
    if hi <= lo:
        return pd.DataFrame({"actual": [], "predicted": []})
    origins = np.arange(lo, hi)
    scaled = np.asarray(model(p.windows(origins), training=False), dtype=float)[:, 0]
    pred = p.base[origins] * (1.0 + p.to_returns(scaled))
    return pd.DataFrame({"actual": p.close[origins], "predicted": pred}, index=dates[origins])


def prepare_unsplit(prices: pd.DataFrame, hp: Hyperparams, scaler: Scaler) -> Prepared:
    """Features of ``prices`` scaled with a stored scaler; the split is irrelevant (nothing is fit)."""
    n = len(prices) - 1
    return prepare(prices, hp.window, hp.horizon, (hp.window + hp.horizon + 1, min(n - 1, hp.window + 2 * hp.horizon + 2)),
                   scaler=scaler)
