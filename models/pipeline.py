"""Train, fine-tune and score one cell type on a price frame: the steps jobs strings together."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .evaluation import Evaluation, evaluate
from .features import Prepared, Scaler, SplitSpec, prepare, returns_frame, split_at_dates
from .network import Hyperparams, build_network
from .serialization import model_from_bytes
from .training import EpochFn, FitHistory, fit_network, set_determinism


@dataclass
class CellFit:
    model: object  # a keras.Model
    hp: Hyperparams
    prepared: Prepared
    history: FitHistory
    evaluation: Evaluation
    next_returns: np.ndarray  # (H,) predicted daily returns after the last stored day
    param_count: int


def predict_returns(model, p: Prepared, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Predicted daily returns for every origin from ``start`` to ``n`` inclusive.

    Origin ``n`` is the window of the newest L rows: the forecast. Returns
    (origins (N,), returns (N, H)).
    """
    origins = np.arange(max(start, p.window), p.n + 1)
    x = p.windows(origins)  # (N, L, F)
    scaled = np.asarray(model(x, training=False), dtype=float)  # (N, H); eager: no retracing per model
    return origins, p.to_returns(scaled)


def _finish(model, hp: Hyperparams, p: Prepared, history: FitHistory) -> CellFit:
    origins, returns = predict_returns(model, p, p.val_start)
    params = int(model.count_params())
    ev = evaluate(p, returns[:-1], origins[:-1], hp.cell, params, round(history.seconds, 3))
    return CellFit(model, hp, p, history, ev, returns[-1], params)


def fit_cell(
    prices: pd.DataFrame,
    hp: Hyperparams,
    split: SplitSpec = SplitSpec(),
    *,
    seed: int = 42,
    on_epoch: EpochFn | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> CellFit:
    """Train a fresh network of ``hp.cell`` and evaluate it on the test period."""
    set_determinism(seed)
    p = prepare(prices, hp.window, hp.horizon, split)
    x_tr, y_tr, x_va, y_va = p.train_arrays()
    model = build_network(hp, p.x.shape[1])
    history = fit_network(model, x_tr, y_tr, x_va, y_va, epochs=hp.epochs, batch_size=hp.batch_size,
                          patience=hp.patience, learning_rate=hp.learning_rate, seed=seed,
                          on_epoch=on_epoch, should_cancel=should_cancel)
    return _finish(model, hp, p, history)


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
    return _finish(model, hp, p, history)  # the stored hp keep the base learning rate


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
