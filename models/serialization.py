"""A model to ``.keras`` bytes and back, so it can live in the database; a stored cell as one value."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .features import Prepared, Scaler, prepare
from .network import Hyperparams


def model_to_bytes(model: Any) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        with open(path, "rb") as fh:
            return fh.read()


def model_from_bytes(data: bytes, compile: bool = False) -> Any:
    """Load a model saved by ``model_to_bytes``; uncompiled unless asked."""
    import keras

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        with open(path, "wb") as fh:
            fh.write(data)
        return keras.models.load_model(path, compile=compile)


@dataclass(frozen=True)
class StoredCell:
    """A trained network as the registry keeps it: weights, hyperparameters, scaler and split.

    The scaler is the one the weights were fit with: any later use of the network
    (fine-tune, backtest, scoring) scales prices with it, never with a new fit.
    """

    model_bytes: bytes  # a ``.keras`` file (model_to_bytes)
    hp: Hyperparams
    scaler: Scaler
    split: tuple[int, int]  # (val_start, test_start) rows of the feature table of the prices it is used on;
    # ``prepare`` says when they do not fit those prices

    def __post_init__(self) -> None:
        if not self.model_bytes:
            raise ValueError("a stored cell needs its .keras bytes (registry.load_model_bytes); got none")

    @classmethod
    def from_record(cls, model_bytes: bytes, hyperparams: dict[str, Any], split: tuple[int, int]) -> StoredCell:
        """From a registry record's ``hyperparams`` (``Hyperparams.to_dict()`` plus ``"scaler"``)."""
        return cls(model_bytes, Hyperparams.from_dict(hyperparams), Scaler.from_dict(hyperparams["scaler"]), split)

    def load(self) -> Any:
        """The keras model (a fresh copy each call)."""
        return model_from_bytes(self.model_bytes)

    def prepare(self, prices: pd.DataFrame) -> Prepared:
        """``prices`` as this network's inputs: its window, horizon, split and stored scaler."""
        return prepare(prices, self.hp.window, self.hp.horizon, self.split, scaler=self.scaler)
