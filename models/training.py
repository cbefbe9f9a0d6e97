"""Fitting with early stopping, a fixed seed, per-epoch progress and cancellation."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from contract.outputs import LossCurve
from contract.vocab import FINETUNE_EPOCHS, FINETUNE_LR_FACTOR

from .features import TrainArrays
from .steps import Stepper, adam, stepping

if TYPE_CHECKING:
    from .network import Hyperparams

# on_epoch(epoch 1-based, max_epochs, {"loss": .., "val_loss": ..})
EpochFn = Callable[[int, int, dict[str, float]], None]
CancelFn = Callable[[], bool]


class TrainingCancelled(Exception):
    """should_cancel() turned true between two epochs."""


@dataclass(frozen=True)
class FitControls:
    """What the caller steers a fit with: the seed, progress and cancellation (none changes the numbers but seed)."""

    seed: int = 42
    on_epoch: EpochFn | None = None
    should_cancel: CancelFn | None = None

    def cancel_if_asked(self, message: str) -> None:
        """Raise TrainingCancelled(message) when should_cancel() is true."""
        if self.should_cancel is not None and self.should_cancel():
            raise TrainingCancelled(message)


@dataclass(frozen=True)
class FitSchedule:
    """How long and how fast one fit runs."""

    epochs: int
    batch_size: int
    patience: int  # epochs without a lower validation loss before stopping
    learning_rate: float

    def __post_init__(self) -> None:
        if min(self.epochs, self.batch_size, self.patience) < 1:
            raise ValueError(f"epochs, batch_size and patience must be >= 1, got {self}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")

    @classmethod
    def full(cls, hp: Hyperparams) -> FitSchedule:
        """A fresh network's fit: every epoch and the patience of ``hp``."""
        return cls(epochs=hp.epochs, batch_size=hp.batch_size, patience=hp.patience, learning_rate=hp.learning_rate)


@dataclass(frozen=True)
class WarmStart:
    """Continuing a trained network: a few epochs at a fraction of its learning rate."""

    epochs: int = FINETUNE_EPOCHS
    lr_factor: float = FINETUNE_LR_FACTOR

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"warm-start epochs must be >= 1, got {self.epochs}")
        if not self.lr_factor > 0:
            raise ValueError(f"lr_factor must be positive (e.g. 0.1), got {self.lr_factor}")

    def schedule(self, hp: Hyperparams) -> FitSchedule:
        return FitSchedule(epochs=self.epochs, batch_size=hp.batch_size, patience=min(hp.patience, self.epochs),
                           learning_rate=hp.learning_rate * self.lr_factor)


def set_determinism(seed: int) -> None:
    """Same seed + same data -> same weights on CPU (Python, numpy and TF seeds, deterministic ops)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


@dataclass
class FitHistory:
    epoch: list[int]
    loss: list[float]
    val_loss: list[float]
    best_epoch: int  # 1-based; its weights are the ones kept
    seconds: float

    @property
    def best_val_loss(self) -> float:
        return self.val_loss[self.best_epoch - 1]

    def as_payload(self) -> LossCurve:
        return {"epoch": self.epoch, "loss": self.loss, "val_loss": self.val_loss}


def _epoch_loss(train_step: Any, x: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int) -> float:
    """One pass over the shuffled training windows; the mean training loss, weighted by batch size."""
    xs, ys = x[order], y[order]
    total = 0.0
    for s in range(0, len(xs), batch_size):
        total += float(train_step(xs[s : s + batch_size], ys[s : s + batch_size])) * len(xs[s : s + batch_size])
    return total / len(xs)


def fit_network(model: Any, data: TrainArrays, schedule: FitSchedule, controls: FitControls = FitControls()) -> FitHistory:
    """Minimise the MSE with Adam; keep the weights of the epoch with the lowest validation loss.

    x: (N, L, F) float32, y: (N, H) float32. Stops after ``schedule.patience`` epochs
    without a lower validation loss. Raises TrainingCancelled when
    ``controls.should_cancel`` returns true at an epoch boundary.

    Why not ``model.fit``: for a network this small, Keras' per-epoch machinery
    (building a dataset and an evaluation loop every epoch) costs more than the
    arithmetic. One ``tf.function`` per training step, traced once for any
    batch size (and once per architecture in a process: models/steps.py), and a
    plain Python loop over shuffled numpy batches is about 4x faster per epoch
    here (see scripts/bench_training.py).
    """
    controls.cancel_if_asked("cancelled before training started")
    with stepping(model, adam(model, schedule.learning_rate)) as net:
        return _fit_epochs(net, data, schedule, controls)


def _fit_epochs(net: Stepper, data: TrainArrays, schedule: FitSchedule, controls: FitControls) -> FitHistory:
    """``fit_network``'s epochs on the traced twin ``net`` (which holds the network's weights meanwhile)."""
    model, train_step, val_step = net.model, net.train_step, net.val_step
    rng = np.random.default_rng(controls.seed)
    x_train, y_train = np.asarray(data.x_train, np.float32), np.asarray(data.y_train, np.float32)
    x_val, y_val = np.asarray(data.x_val, np.float32), np.asarray(data.y_val, np.float32)
    losses: list[float] = []
    val_losses: list[float] = []
    best, best_weights, since_best = np.inf, model.get_weights(), 0
    started = time.perf_counter()
    for epoch in range(1, schedule.epochs + 1):
        losses.append(_epoch_loss(train_step, x_train, y_train, rng.permutation(len(x_train)), schedule.batch_size))
        val_losses.append(float(val_step(x_val, y_val)))
        if val_losses[-1] < best:
            best, best_weights, since_best = val_losses[-1], model.get_weights(), 0
        else:
            since_best += 1
        if controls.on_epoch is not None:
            controls.on_epoch(epoch, schedule.epochs, {"loss": losses[-1], "val_loss": val_losses[-1]})
        controls.cancel_if_asked(f"cancelled after epoch {epoch}")
        if since_best >= schedule.patience:
            break
    model.set_weights(best_weights)
    return FitHistory(
        epoch=list(range(1, len(losses) + 1)),
        loss=losses,
        val_loss=val_losses,
        best_epoch=int(np.argmin(val_losses)) + 1,
        seconds=time.perf_counter() - started,
    )


WarmTrainer = Callable[[np.ndarray, np.ndarray, int], None]  # (x (N, L, F), y (N, H), epochs) -> None


def warm_trainer(model: Any, learning_rate: float, batch_size: int, seed: int) -> WarmTrainer:
    """A function (x, y, epochs) continuing ``model``'s training with no validation and no early stopping.

    The same step and batches as ``fit_network`` (one optimizer across calls, shuffled from ``seed``):
    the rolling evaluation's warm starts train with it.
    """
    optimizer = adam(model, learning_rate)
    rng = np.random.default_rng(seed)

    def train(x: np.ndarray, y: np.ndarray, epochs: int) -> None:
        x, y = np.asarray(x, np.float32), np.asarray(y, np.float32)
        with stepping(model, optimizer) as net:
            for _ in range(epochs):
                _epoch_loss(net.train_step, x, y, rng.permutation(len(x)), batch_size)

    return train
