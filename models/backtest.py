"""Walk-forward (rolling-origin) backtest over the test period.

Every ``every`` test days the model is updated on everything before that day
(fine-tuned at a lower learning rate, or refit from scratch), then predicts
the next ``every`` days one step ahead, as it would have live. The scaler stays
the one fit on the original training rows; validation for early stopping is the
``val_len`` days just before each update, so no update sees a day it predicts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from .features import Prepared, TrainArrays
from .network import Hyperparams, build_network
from .rolling import WalkHooks, walk
from .serialization import StoredCell
from .steps import forward
from .training import FitControls, FitSchedule, WarmStart, fit_network, set_determinism

MODES = ("finetune", "refit")
StepFn = Callable[[int, int], None]  # on_step(block 1-based, blocks)


@dataclass(frozen=True)
class WalkPlan:
    """How the test period is walked: update every ``every`` days, by fine-tune or refit."""

    every: int = 20  # trading days between updates
    mode: str = "finetune"  # or "refit": a fresh network on everything before the block
    warm_start: WarmStart = field(default_factory=WarmStart)  # the fine-tune's epochs and learning-rate factor

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.every < 1:
            raise ValueError(f"every must be a positive number of trading days, got {self.every}")


@dataclass
class WalkForward:
    dates: list[str]
    actual: np.ndarray  # (T,) close on each test day
    predicted: np.ndarray  # (T,) one-step-ahead prediction made the evening before
    persistence: np.ndarray  # (T,) previous close
    updates: list[str]  # dates on which the model was updated before predicting

    def rmse(self, which: str = "predicted") -> float:
        return float(np.sqrt(np.mean((self.actual - getattr(self, which)) ** 2)))


def _one_step(model: Any, p: Prepared, origins: np.ndarray) -> np.ndarray:
    scaled = forward(model, p.windows(origins))[:, 0]  # (N,) h = 1
    return p.base[origins] * (1.0 + p.to_returns(scaled))


def _update(model: Any, hp: Hyperparams, p: Prepared, start: int, plan: WalkPlan, seed: int) -> None:
    """Fit ``model`` for the block from ``start`` on targets before it; validation the ``val_len`` days just before."""
    val_len = p.test_start - p.val_start
    train = p.targets_between(0, start - val_len)
    val = p.targets_between(start - val_len, start)
    schedule = plan.warm_start.schedule(hp) if plan.mode == "finetune" else FitSchedule.full(hp)
    data = TrainArrays(p.windows(train), p.y[train], p.windows(val), p.y[val])  # (N, L, F), (N, H), ...
    fit_network(model, data, schedule, FitControls(seed=seed))  # no cancel inside a block: blocks are short


def walk_forward(stored: StoredCell, prices: pd.DataFrame, plan: WalkPlan = WalkPlan(),
                 controls: FitControls = FitControls(), on_step: StepFn | None = None) -> WalkForward:
    """Backtest a stored model from its split's test start to the end of ``prices``.

    Block ``k``'s update is fit with seed ``controls.seed + k``; ``controls.on_epoch`` is not called.
    """
    set_determinism(controls.seed)
    p = stored.prepare(prices)
    current = [stored.load()]
    updates: list[str] = []

    def update(k: int, start: int) -> None:
        if k == 0:  # the first block is the stored model as it is
            return
        if plan.mode == "refit":
            set_determinism(controls.seed)  # every refit starts from the same initial weights
            current[0] = build_network(stored.hp, p.x.shape[1])
        _update(current[0], stored.hp, p, start, plan, seed=controls.seed + k)
        updates.append(p.dates[start].strftime("%Y-%m-%d"))

    def check(k: int, blocks: int) -> None:
        controls.cancel_if_asked(f"backtest cancelled at block {k + 1}/{blocks}")

    def step(k: int, blocks: int) -> None:
        if on_step is not None:
            on_step(k + 1, blocks)

    blocks = list(range(p.test_start, p.n, plan.every))
    predicted = walk(blocks, p.n, update, lambda origins: _one_step(current[0], p, origins), WalkHooks(check, step))
    test = np.arange(p.test_start, p.n)
    return WalkForward(
        dates=[d.strftime("%Y-%m-%d") for d in p.dates[test]],
        actual=p.close[test],
        predicted=predicted,
        persistence=p.base[test],
        updates=updates,
    )
