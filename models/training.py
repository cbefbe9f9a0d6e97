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
    on_epoch: EpochFn | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> FitHistory:
    """Fit a compiled model; keep the weights of the epoch with the lowest validation loss.

    x: (N, L, F) float32, y: (N, H) float32. Raises TrainingCancelled when
    ``should_cancel`` returns true at an epoch boundary.
    """
    import keras

    cancelled = {"flag": False}

    class _Hooks(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            if on_epoch is not None:
                on_epoch(epoch + 1, epochs, {"loss": float(logs.get("loss", np.nan)), "val_loss": float(logs.get("val_loss", np.nan))})
            if should_cancel is not None and should_cancel():
                cancelled["flag"] = True
                self.model.stop_training = True

    if should_cancel is not None and should_cancel():
        raise TrainingCancelled("cancelled before training started")
    stopper = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=patience, restore_best_weights=True, start_from_epoch=0
    )
    started = time.perf_counter()
    hist = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=0,
        callbacks=[stopper, _Hooks()],
    )
    seconds = time.perf_counter() - started
    if cancelled["flag"]:
        raise TrainingCancelled("cancelled between epochs")
    val = [float(v) for v in hist.history["val_loss"]]
    best = int(np.argmin(val)) + 1
    # Keras 3's EarlyStopping restores the best epoch's weights at the end of fit,
    # whether or not it stopped early.
    return FitHistory(
        epoch=list(range(1, len(val) + 1)),
        loss=[float(v) for v in hist.history["loss"]],
        val_loss=val,
        best_epoch=best,
        seconds=seconds,
    )
