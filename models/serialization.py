"""A model to ``.keras`` bytes and back, so it can live in the database."""
from __future__ import annotations

import os
import tempfile


def model_to_bytes(model) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        with open(path, "rb") as fh:
            return fh.read()


def model_from_bytes(data: bytes, compile: bool = False):
    """Load a model saved by ``model_to_bytes``; uncompiled unless asked."""
    import keras

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        with open(path, "wb") as fh:
            fh.write(data)
        return keras.models.load_model(path, compile=compile)
