"""Walk-forward (rolling-origin) backtest over the test period.

Every ``every`` test days the model is updated on everything before that day
(fine-tuned at a lower learning rate, or refit from scratch), then predicts
the next ``every`` days one step ahead, as it would have live. The scaler stays
the one fit on the original training rows; validation for early stopping is the
``val_len`` days just before each update, so no update sees a day it predicts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .features import Prepared, Scaler, prepare
from .network import Hyperparams, build_network
from .serialization import model_from_bytes
from .training import TrainingCancelled, fit_network, set_determinism

MODES = ("finetune", "refit")


@dataclass
class WalkForward:
    dates: list[str]
    actual: np.ndarray  # (T,) close on each test day
    predicted: np.ndarray  # (T,) one-step-ahead prediction made the evening before
    persistence: np.ndarray  # (T,) previous close
    updates: list[str]  # dates on which the model was updated before predicting

    def rmse(self, which: str = "predicted") -> float:
        return float(np.sqrt(np.mean((self.actual - getattr(self, which)) ** 2)))


def _one_step(model, p: Prepared, origins: np.ndarray) -> np.ndarray:
    scaled = np.asarray(model(p.windows(origins), training=False), dtype=float)[:, 0]
    return p.base[origins] * (1.0 + p.to_returns(scaled))


def walk_forward(
    model_bytes: bytes,
    hp: Hyperparams,
    scaler: Scaler,
    prices: pd.DataFrame,
    split: tuple[int, int],
    *,
    every: int = 20,
    mode: str = "finetune",
    epochs: int = 5,
    lr_factor: float = 0.1,
    seed: int = 42,
    on_step: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> WalkForward:
    """Backtest a stored model from ``split``'s test start to the end of ``prices``."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if every < 1:
        raise ValueError(f"every must be a positive number of trading days, got {every}")
    set_determinism(seed)
    p = prepare(prices, hp.window, hp.horizon, split, scaler=scaler)
    val_len = p.test_start - p.val_start
    model = model_from_bytes(model_bytes)
    blocks = list(range(p.test_start, p.n, every))
    preds, updates = [], []
    for k, start in enumerate(blocks):
        if should_cancel is not None and should_cancel():
            raise TrainingCancelled(f"backtest cancelled at block {k + 1}/{len(blocks)}")
        if k > 0:  # the first block is the stored model as it is
            train = p.targets_between(0, start - val_len)
            val = p.targets_between(start - val_len, start)
            if mode == "refit":
                set_determinism(seed)
                model = build_network(hp, p.x.shape[1])
            fit_network(
                model, p.windows(train), p.y[train], p.windows(val), p.y[val],
                epochs=epochs if mode == "finetune" else hp.epochs, batch_size=hp.batch_size,
                patience=min(hp.patience, epochs) if mode == "finetune" else hp.patience,
                learning_rate=hp.learning_rate * (lr_factor if mode == "finetune" else 1.0), seed=seed + k,
            )
            updates.append(p.dates[start].strftime("%Y-%m-%d"))
        preds.append(_one_step(model, p, np.arange(start, min(start + every, p.n))))
        if on_step is not None:
            on_step(k + 1, len(blocks))
    test = np.arange(p.test_start, p.n)
    return WalkForward(
        dates=[d.strftime("%Y-%m-%d") for d in p.dates[test]],
        actual=p.close[test],
        predicted=np.concatenate(preds),
        persistence=p.base[test],
        updates=updates,
    )
