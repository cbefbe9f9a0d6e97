"""Fitting with early stopping, a fixed seed, per-epoch progress and cancellation."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

# on_epoch(epoch 1-based, max_epochs, {"loss": .., "val_loss": ..})
EpochFn = Callable[[int, int, dict], None]


class TrainingCancelled(Exception):
    """should_cancel() turned true between two epochs."""


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

    def as_payload(self) -> dict:
        return {"epoch": self.epoch, "loss": self.loss, "val_loss": self.val_loss}


def fit_network(
    model,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    patience: int,
    learning_rate: float,
    seed: int = 42,
    on_epoch: EpochFn | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> FitHistory:
    """Minimise the MSE with Adam; keep the weights of the epoch with the lowest validation loss.

    x: (N, L, F) float32, y: (N, H) float32. Stops after ``patience`` epochs
    without a lower validation loss. Raises TrainingCancelled when
    ``should_cancel`` returns true at an epoch boundary.

    Why not ``model.fit``: for a network this small, Keras' per-epoch machinery
    (building a dataset and an evaluation loop every epoch) costs more than the
    arithmetic. One ``tf.function`` per training step, traced once for any
    batch size, and a plain Python loop over shuffled numpy batches is about
    4x faster per epoch here (see scripts/bench_training.py).
    """
    import keras
    import tensorflow as tf

    if should_cancel is not None and should_cancel():
        raise TrainingCancelled("cancelled before training started")
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    weights = model.trainable_variables
    optimizer.build(weights)
    spec = [tf.TensorSpec((None, *x_train.shape[1:]), tf.float32), tf.TensorSpec((None, *y_train.shape[1:]), tf.float32)]

    @tf.function(input_signature=spec, autograph=False)  # no Python control flow inside: skip AutoGraph
    def train_step(xb, yb):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(yb - model(xb, training=True)))
        optimizer.apply(tape.gradient(loss, weights), weights)
        return loss

    @tf.function(input_signature=spec, autograph=False)
    def val_step(xb, yb):
        return tf.reduce_mean(tf.square(yb - model(xb, training=False)))

    rng = np.random.default_rng(seed)
    x_train, y_train = np.asarray(x_train, np.float32), np.asarray(y_train, np.float32)
    x_val, y_val = np.asarray(x_val, np.float32), np.asarray(y_val, np.float32)
    n = len(x_train)
    losses, val_losses = [], []
    best, best_weights, since_best = np.inf, model.get_weights(), 0
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        xs, ys = x_train[order], y_train[order]
        total = 0.0
        for s in range(0, n, batch_size):
            total += float(train_step(xs[s : s + batch_size], ys[s : s + batch_size])) * len(xs[s : s + batch_size])
        losses.append(total / n)
        val_losses.append(float(val_step(x_val, y_val)))
        if val_losses[-1] < best:
            best, best_weights, since_best = val_losses[-1], model.get_weights(), 0
        else:
            since_best += 1
        if on_epoch is not None:
            on_epoch(epoch, epochs, {"loss": losses[-1], "val_loss": val_losses[-1]})
        if should_cancel is not None and should_cancel():
            raise TrainingCancelled(f"cancelled after epoch {epoch}")
        if since_best >= patience:
            break
    model.set_weights(best_weights)
    return FitHistory(
        epoch=list(range(1, len(losses) + 1)),
        loss=losses,
        val_loss=val_losses,
        best_epoch=int(np.argmin(val_losses)) + 1,
        seconds=time.perf_counter() - started,
    )
