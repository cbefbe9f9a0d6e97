"""What the pipeline tests share: a Friday-evening clock, two-epoch training, a short real history."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache

import pandas as pd

from marketdata.sources.offline import OfflineSampleSource

FRI_EVENING = datetime(2026, 3, 6, 23, 30, tzinfo=timezone.utc)  # Friday 18:30 New York
TINY = {"PIPELINE_EPOCHS": "2", "PIPELINE_FINETUNE_EPOCHS": "1"}  # settings: train for two epochs, tune for one


@lru_cache(maxsize=None)
def history(ticker: str = "AAPL", days: int = 320) -> pd.DataFrame:
    """The newest ``days`` of the offline sample: enough to train for real, quick to fit."""
    return OfflineSampleSource().fetch(ticker).iloc[-days:]
