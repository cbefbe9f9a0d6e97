"""A champion from the registry back as the network it was: one ``StoredCell``."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from store import registry
from store.db import retry_on_outage
from store.registry import ModelInfo

from .context import JobContext

if TYPE_CHECKING:  # TensorFlow's side is imported only when a stored cell is used
    from models.serialization import StoredCell


def stored_split(record: ModelInfo, prices: pd.DataFrame) -> tuple[int, int]:
    """The record's own validation and test starts, as rows of the feature table of ``prices``."""
    from models import features

    dates = pd.DatetimeIndex(features.returns_frame(prices).index)
    return features.split_at_dates(dates, pd.Timestamp(record.val_start), pd.Timestamp(record.test_start))


def load_stored_cell(ctx: JobContext, record: ModelInfo, split: tuple[int, int]) -> StoredCell:
    """The network of a registry ``record`` (weights, hyperparameters, the scaler it was fit with)
    over ``split`` (``stored_split`` for its own, or a new one); its bytes are read through a
    database outage (STORE_RETRY_SECONDS)."""
    from models.serialization import StoredCell

    from .quiet_tf import import_tensorflow_quietly

    import_tensorflow_quietly()
    model_bytes = retry_on_outage(lambda: registry.load_model_bytes(ctx.engine, record.id),
                                  what=f"loading model {record.id}", budget_s=ctx.settings.schedule.store_retry_s)
    return StoredCell.from_record(model_bytes, record.hyperparams, split)
